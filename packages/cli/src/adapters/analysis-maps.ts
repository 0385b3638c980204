import { fieldChannel, fieldRange, renderPanelsPng } from '@alignda/world';
import type { Field } from '@alignda/tensor';

/** What {@link analysisMapsPng} draws. */
export interface AnalysisMaps {
  readonly truth: Field;
  readonly background: Field;
  readonly analysis: Field;
  /** Channel index drawn. */
  readonly channel: number;
  /** Figure title. */
  readonly title: string;
  /** Title of the truth panel. @defaultValue 'truth' */
  readonly truthTitle?: string;
  /** Title of the analysis panel. @defaultValue '3D-Var analysis' */
  readonly analysisTitle?: string;
  /** Valid-area mask [H, W]; masked cells are grey and excluded from the colour range. */
  readonly mask?: Uint8Array;
}

/**
 * Truth, background and analysis on one colour scale (the truth's range), and analysis - truth on a
 * diverging scale: the four-panel PNG every assimilation run draws for one case.
 */
export function analysisMapsPng(m: AnalysisMaps): Buffer {
  const c = m.channel;
  const truth = fieldChannel(m.truth, c);
  const an = fieldChannel(m.analysis, c);
  const err = new Float32Array(an.data.length);
  for (let i = 0; i < err.length; i++) err[i] = (an.data[i] ?? 0) - (truth.data[i] ?? 0);
  const { min: vmin, max: vmax } = fieldRange(truth, m.mask);
  const common = { units: m.truth.units[c] ?? '', grid: m.truth.grid, mask: m.mask };
  return renderPanelsPng(
    [
      { ...common, field: truth, title: m.truthTitle ?? 'truth', vmin, vmax },
      { ...common, field: fieldChannel(m.background, c), title: 'background', vmin, vmax },
      { ...common, field: an, title: m.analysisTitle ?? '3D-Var analysis', vmin, vmax },
      {
        ...common,
        field: { data: err, shape: truth.shape },
        title: 'analysis - truth',
        colormap: 'diverging',
      },
    ],
    { cols: 2, title: m.title },
  );
}
