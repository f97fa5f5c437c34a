/** Run crash-child.js until it has acked some batches, then SIGKILL it (the crash tests). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));

/** Run the child until it has acked some batches, SIGKILL it at a random moment; the acked ids. */
export function runAndKill(
  dataDir: string,
  spoolDir: string,
  firstId: number,
  workers: number,
  ...extra: string[]
): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const args = [CHILD, dataDir, spoolDir, String(firstId), String(workers), ...extra];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let buffer = '';
    let stderr = '';
    let armed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffer += text;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
      }
      if (!armed && acked.length > 0) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), 100 + Math.random() * 900);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code}: ${stderr}`));
      else resolve(acked);
    });
  });
}
