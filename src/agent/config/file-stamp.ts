import { statSync } from 'node:fs';

/** A file's identity and version as stat sees it (inode, size, mtime); 'missing' when absent. */
export function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
