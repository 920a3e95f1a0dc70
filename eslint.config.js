// A small rule set that the code base passes as it is: typescript-eslint's recommended
// rules, minus the few this project deliberately does otherwise (see the comments). The
// import-direction rule is test/house/layers.test.ts, which holds the layer order as data.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'bench/results/**', 'node_modules/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
        document: 'readonly',
        window: 'readonly',
      },
    },
    rules: {
      // PipelineDefinition<P = any> and a few zod/pg boundaries need `any` on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      // `…params` names a zod schema kept for its inferred type (`z.infer<typeof params>`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_|[pP]arams$', caughtErrors: 'none' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // The dashboard's one browser script, served as it is.
    files: ['src/api/dashboard/assets/**/*.js'],
    languageOptions: {
      globals: {
        Node: 'readonly',
        Element: 'readonly',
        localStorage: 'readonly',
        location: 'readonly',
        history: 'readonly',
        EventSource: 'readonly',
        FormData: 'readonly',
      },
    },
  },
);
