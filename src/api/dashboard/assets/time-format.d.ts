// Types for time-format.js (plain JS so the browser can load the very same file).
export function instantParts(iso: string, timeZone: string): { date: string; time: string; offset: string } | null;
export function formatInstant(iso: string | null | undefined, timeZone?: string, named?: boolean): string;
export function viewerZone(): string;
