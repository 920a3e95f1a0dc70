import { TRANSITIONS, type TransitionName, type WorkState } from '../core/states.js';

/** `IN (...)` list for a transition's source states; values come from the constant table, never from input. */
export const inList = (states: readonly WorkState[]) => states.map((s) => `'${s}'`).join(', ');
/** The source states of one or more transitions, as an `IN (...)` list (both backends). */
export const FROM = (...names: TransitionName[]) => inList([...new Set(names.flatMap((n) => TRANSITIONS[n].from))]);
