/**
 * Text arriving in pieces (a stream's 'data' chunks) cut into lines: the returned function takes
 * each piece and calls `onLine` for every complete line, without its newline; a partial last
 * line waits for the next piece.
 */
export function lineReader(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const text = rest + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  };
}
