import cliProgress from 'cli-progress';

/** A stage-aware progress reporter: a bar on a terminal, a line per 25 % elsewhere (CI logs). */
export interface Progress {
  /** Reports `fraction` in [0, 1] of `stage`; a new stage name finishes the previous one. */
  update(stage: string, fraction: number): void;
  /** Ends the current stage. */
  stop(): void;
}

/** Creates a {@link Progress} writing to stderr. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY;
  let stage: string | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let lastQuarter = -1;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
    stage = undefined;
  };
  return {
    update(name, fraction) {
      const f = Math.max(0, Math.min(1, fraction));
      if (name !== stage) {
        stop();
        stage = name;
        lastQuarter = -1;
        if (tty) {
          bar = new cliProgress.SingleBar(
            {
              format: `  ${name.padEnd(28)} [{bar}] {percentage}% | {duration_formatted}`,
              stream,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(100, 0);
        }
      }
      if (bar) bar.update(Math.round(f * 100));
      else {
        const quarter = Math.floor(f * 4);
        if (quarter > lastQuarter) {
          lastQuarter = quarter;
          stream.write(`  ${name}: ${Math.round(f * 100)}%\n`);
        }
      }
      if (f >= 1) stop();
    },
    stop,
  };
}
