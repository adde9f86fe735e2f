// /perf/1.0.0 (libp2p/specs perf/perf.md) over js-libp2p streams, written from the spec because @libp2p/perf
// is not in the registry here. The client writes a big-endian u64 (bytes it wants back), uploads, half-closes,
// then reads until the server half-closes; the server does the mirror image.
//
//   node --import ./polyfill.mjs perf.mjs server               -> prints "LISTEN <multiaddr>", serves until stdin ends
//   node --import ./polyfill.mjs perf.mjs client <multiaddr> [--upload N] [--download N]
//        -> prints "PERF upload=<bytes> download=<bytes> upload_s=<s> download_s=<s>" and exits 0

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const PERF = '/perf/1.0.0'
const CHUNK = 64 * 1024
const MAX_REQUEST = 16n << 30n

function arg (name, fallback) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

function waitDrain (stream) {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const done = () => { stream.removeEventListener('drain', done); stream.removeEventListener('idle', done); stream.removeEventListener('close', closed); resolve() }
    const closed = (evt) => { stream.removeEventListener('drain', done); stream.removeEventListener('idle', done); reject(evt.error ?? new Error('stream closed')) }
    stream.addEventListener('drain', done)
    stream.addEventListener('idle', done)
    stream.addEventListener('close', closed)
  })
}

/** Calls onData for every chunk until the remote half-closes. */
function readToEnd (stream, onData) {
  return new Promise((resolve, reject) => {
    const onMessage = (evt) => { try { onData(evt.data.subarray()) } catch (err) { reject(err) } }
    const onEnd = () => resolve()
    const onClose = (evt) => (evt.error != null ? reject(evt.error) : resolve())
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    if (stream.readableEnded) queueMicrotask(onEnd)
  })
}

async function sendZeros (stream, bytes) {
  const zeros = new Uint8Array(CHUNK)
  for (let left = bytes; left > 0; left -= CHUNK) {
    if (!stream.send(zeros.subarray(0, Math.min(CHUNK, left)))) await waitDrain(stream)
  }
}

async function node (listen) {
  return createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
}

async function server () {
  const n = await node(['/ip4/127.0.0.1/tcp/0'])
  await n.handle(PERF, async (stream) => {
    const header = []
    let headerBytes = 0
    await readToEnd(stream, (chunk) => {
      if (headerBytes < 8) { header.push(chunk.subarray(0, 8 - headerBytes)); headerBytes += Math.min(8, chunk.byteLength) }
    })
    if (headerBytes < 8) { stream.abort(new Error('short perf request')); return }
    const want = Buffer.concat(header).readBigUInt64BE(0)
    if (want > MAX_REQUEST) { stream.abort(new Error('perf request too large')); return }
    await sendZeros(stream, Number(want))
    await stream.close()
  }, { maxInboundStreams: 64 })
  console.log(`LISTEN ${n.getMultiaddrs()[0].toString()}`)
  process.stdin.resume()
  process.stdin.on('end', async () => { await n.stop(); process.exit(0) })
}

async function client (target) {
  const upload = arg('--upload', 0)
  const download = arg('--download', 64 * 1024 * 1024)
  const n = await node([])
  const stream = await n.dialProtocol(multiaddr(target), PERF)
  let received = 0
  const reading = readToEnd(stream, (chunk) => { received += chunk.byteLength })
  const start = performance.now()
  const header = Buffer.alloc(8)
  header.writeBigUInt64BE(BigInt(download))
  stream.send(header)
  await sendZeros(stream, upload)
  await stream.close()
  const uploaded = performance.now()
  await reading
  const end = performance.now()
  if (received !== download) throw new Error(`got ${received} of ${download} bytes`)
  console.log(`PERF upload=${upload} download=${received} upload_s=${((uploaded - start) / 1000).toFixed(4)} download_s=${((end - uploaded) / 1000).toFixed(4)}`)
  await n.stop()
  process.exit(0)
}

const mode = process.argv[2]
const run = mode === 'server' ? server() : mode === 'client' ? client(process.argv[3]) : Promise.reject(new Error('usage: perf.mjs server | client <multiaddr>'))
run.catch((err) => { console.log(`ERROR ${err?.message ?? err}`); process.exit(1) })
