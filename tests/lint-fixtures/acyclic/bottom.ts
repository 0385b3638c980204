// Imported by top.ts; imports nothing.
export interface Bottom {
  readonly depth: number;
}

export const bottom: Bottom = { depth: 0 };
