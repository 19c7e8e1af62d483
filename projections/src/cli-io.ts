/**
 * Where the operator commands read their environment and write their lines: the process by
 * default, captured buffers in tests.
 */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

export const PROCESS_IO: CliIo = {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};
