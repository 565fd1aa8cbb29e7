/** Report figures (PNG). Placeholder until the vega-lite renderer lands. */
import type { Summary } from './summary';

/** Renders the figures into profileDir. @returns their file names, relative to profileDir */
export async function renderFigures(_profileDir: string, _summaries: readonly Summary[]): Promise<string[]> {
  return [];
}
