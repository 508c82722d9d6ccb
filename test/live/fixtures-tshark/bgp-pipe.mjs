// A tiny TCP sink and sender for wire-tshark.test.ts, run inside a namespace with
// `ip netns exec NS node bgp-pipe.mjs ...`. Imports nothing from src: it only moves bytes.
//
//   node bgp-pipe.mjs sink HOST PORT OUTFILE   listen, accept one connection, write what it
//                                              received to OUTFILE when the peer closes, exit 0
//   node bgp-pipe.mjs send HOST PORT HEXFILE   connect, write each hex line of HEXFILE (one BGP
//                                              message per line) as its own write, close, exit 0
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const [mode, host, portText, file] = process.argv.slice(2);
const port = Number(portText);
if (!host || !Number.isInteger(port) || !file || (mode !== 'sink' && mode !== 'send')) {
  console.error('usage: bgp-pipe.mjs sink|send HOST PORT FILE');
  process.exit(2);
}
const fail = (err) => {
  console.error(`bgp-pipe ${mode}: ${err.message}`);
  process.exit(1);
};

if (mode === 'sink') {
  const server = net.createServer((sock) => {
    server.close(); // one connection only
    const chunks = [];
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', fail);
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      writeFileSync(file, all);
      console.log(`received ${all.length} octets`);
      sock.end(() => process.exit(0));
    });
  });
  server.on('error', fail);
  server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
} else {
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  const sock = net.connect({ host, port }, () => {
    sock.setNoDelay(true);
    let total = 0;
    for (const l of lines) {
      const b = Buffer.from(l, 'hex');
      total += b.length;
      sock.write(b);
    }
    sock.end();
    console.log(`sent ${lines.length} messages, ${total} octets`);
  });
  sock.on('error', fail);
  sock.on('data', () => {});
  sock.on('close', () => process.exit(0));
}
