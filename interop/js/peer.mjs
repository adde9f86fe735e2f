// js-libp2p peer for P2PNet interop tests. Driven by argv and stdin/stdout
// lines; see README.md for the line protocol.
//
//   node --import ./polyfill.mjs peer.mjs listen [--port 0] [--mdns [--mdns-interval MS]] [options]
//   node --import ./polyfill.mjs peer.mjs dial <multiaddr> [--pings N]
//        [--echo-streams N --echo-bytes B] [--identify-only] [options]

import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

export const ECHO_PROTOCOL = '/p2pnet/echo/1.0.0'
const CHUNK = 64 * 1024
const MAX_READ_BUFFER = 64 * 1024 * 1024

// ---------------------------------------------------------------- output

let exiting = false

/** Write one stdout line. Node issues each write to the fd immediately. */
function out (line) {
  process.stdout.write(line + '\n')
}

function oneLine (s) {
  return String(s).replace(/[\r\n]+/g, ' ')
}

function errMsg (err) {
  if (err == null) return 'unknown error'
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : ''
  return oneLine(name + (err.message ?? String(err)))
}

/** Exit once stdout and stderr have been flushed. */
function exit (code) {
  if (exiting) return
  exiting = true
  let pending = 2
  const done = () => { if (--pending === 0) process.exit(code) }
  process.stdout.write('', done)
  process.stderr.write('', done)
  setTimeout(() => process.exit(code), 2000).unref()
}

function fail (err) {
  if (exiting) return
  out(`ERROR ${errMsg(err)}`)
  console.error(err?.stack ?? err)
  exit(1)
}

let listenMode = false
process.on('uncaughtException', fail)
process.on('unhandledRejection', (err) => {
  // a long-running listener must survive stray rejections inside libp2p
  if (listenMode) console.error('unhandled rejection:', err?.stack ?? err)
  else fail(err)
})

// ---------------------------------------------------------------- args

function parseArgs (argv) {
  const opts = {
    mode: argv[0],
    target: undefined,
    port: 0,
    host: '127.0.0.1',
    pings: 0,
    echoStreams: 0,
    echoBytes: 1024,
    identifyOnly: false,
    noIdentifyWait: false,
    monitor: true,
    timeout: 30_000,
    mdns: false,
    mdnsInterval: 1000
  }
  const rest = argv.slice(1)
  const num = (name, v) => {
    const n = Number(v)
    if (v == null || !Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer`)
    return n
  }
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]
    switch (a) {
      case '--port': opts.port = num(a, rest[++i]); break
      case '--host': opts.host = rest[++i]; break
      case '--pings': opts.pings = num(a, rest[++i]); break
      case '--echo-streams': opts.echoStreams = num(a, rest[++i]); break
      case '--echo-bytes': opts.echoBytes = num(a, rest[++i]); break
      case '--identify-only': opts.identifyOnly = true; break
      case '--no-identify': opts.noIdentifyWait = true; break
      case '--no-monitor': opts.monitor = false; break
      case '--timeout': opts.timeout = num(a, rest[++i]); break
      case '--mdns': opts.mdns = true; break
      case '--mdns-interval': opts.mdnsInterval = num(a, rest[++i]); break
      default:
        if (!a.startsWith('--') && opts.mode === 'dial' && opts.target == null) {
          opts.target = a
        } else {
          throw new Error(`unknown argument ${a}`)
        }
    }
  }
  if (opts.mode !== 'listen' && opts.mode !== 'dial') {
    throw new Error('usage: peer.mjs listen [--port P] | peer.mjs dial <multiaddr> [--pings N] [--echo-streams N --echo-bytes B] [--identify-only]')
  }
  if (opts.mode === 'dial' && opts.target == null) throw new Error('dial needs a multiaddr')
  if (opts.mode !== 'listen' && opts.mdns) throw new Error('--mdns works in listen mode only')
  if (opts.mdnsInterval < 1) throw new Error('--mdns-interval needs at least 1 ms')
  return opts
}

function timeoutSignal (ms) {
  const signal = AbortSignal.timeout(ms)
  setMaxListeners(Infinity, signal) // shared by many concurrent streams
  return signal
}

// ---------------------------------------------------------------- streams

/** Resolve on the next 'drain' (or 'idle'); reject if the stream closes. */
function waitDrain (stream, signal) {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('idle', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = () => { cleanup(); resolve() }
    const onClose = (evt) => { cleanup(); reject(evt.error ?? new Error('stream closed while waiting for drain')) }
    const onAbort = () => { cleanup(); reject(signal.reason) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('idle', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/**
 * Read a stream until the remote closes its write side. Uses the 'message'
 * and 'end' events (not `for await`), and checks `readableEnded`, so data and
 * a close that arrived before we started are not missed.
 */
function readToEnd (stream, onData, signal) {
  return new Promise((resolve, reject) => {
    let settled = false
    const cleanup = () => {
      settled = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onMessage = (evt) => {
      try {
        onData(evt.data.subarray())
      } catch (err) {
        cleanup()
        reject(err)
      }
    }
    const onEnd = () => { if (!settled) { cleanup(); resolve() } }
    const onClose = (evt) => {
      if (settled) return
      cleanup()
      if (evt.error != null) reject(evt.error)
      else resolve()
    }
    const onAbort = () => { if (!settled) { cleanup(); reject(signal.reason) } }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
    if (stream.readableEnded) queueMicrotask(onEnd)
  })
}

/** Echo handler: every byte back, close our write side when the remote closes. */
function echoHandler (stream) {
  stream.maxReadBufferLength = MAX_READ_BUFFER
  const onMessage = (evt) => {
    try {
      const ok = stream.send(evt.data)
      if (!ok && stream.readStatus === 'readable') {
        // Apply backpressure: stop reading until our send queue has emptied.
        // Resume on 'drain' as well as 'idle': with a peer whose receive window stays at 256 KiB
        // (no auto-tuning, as P2PNet and rust-yamux), js-libp2p 3.3 can leave the write buffer
        // non-empty without a later 'idle', and the echo stalls.
        stream.pause()
        const resume = () => {
          stream.removeEventListener('idle', resume)
          stream.removeEventListener('drain', resume)
          if (stream.readStatus === 'paused') stream.resume()
        }
        if (stream.writeBufferLength === 0) queueMicrotask(resume)
        else {
          stream.addEventListener('idle', resume)
          stream.addEventListener('drain', resume)
        }
      }
    } catch (err) {
      stream.abort(err)
    }
  }
  let closing = false
  const onEnd = () => {
    if (closing) return
    closing = true
    stream.removeEventListener('message', onMessage)
    stream.close().catch(err => stream.abort(err))
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  if (stream.readableEnded) queueMicrotask(onEnd)
}

/** Open one echo stream, send `bytes` random bytes, verify the echo. */
async function echoOnce (conn, bytes, signal) {
  const stream = await conn.newStream(ECHO_PROTOCOL, { signal })
  stream.maxReadBufferLength = MAX_READ_BUFFER
  const data = randomBytes(bytes)
  let received = 0
  // start reading before sending or closing anything
  const reading = readToEnd(stream, (chunk) => {
    if (received + chunk.byteLength > bytes) {
      throw new Error(`echo returned more than ${bytes} bytes`)
    }
    if (Buffer.compare(data.subarray(received, received + chunk.byteLength), chunk) !== 0) {
      throw new Error(`echo mismatch at offset ${received}`)
    }
    received += chunk.byteLength
  }, signal)
  reading.catch(() => {}) // surfaced below
  try {
    for (let off = 0; off < bytes; off += CHUNK) {
      if (!stream.send(data.subarray(off, Math.min(off + CHUNK, bytes)))) {
        await waitDrain(stream, signal)
      }
    }
    await stream.close({ signal })
    await reading
  } catch (err) {
    stream.abort(err)
    throw err
  }
  if (received !== bytes) throw new Error(`echo returned ${received} of ${bytes} bytes`)
}

async function echoMany (conn, streams, bytes, signal) {
  await Promise.all(Array.from({ length: streams }, () => echoOnce(conn, bytes, signal)))
}

// ---------------------------------------------------------------- node

function identifyLine (r) {
  const protocols = (r.protocols ?? []).join(',')
  const addrs = (r.listenAddrs ?? []).map(a => a.toString()).join(',')
  return `IDENTIFY ${r.peerId.toString()} protocols=${protocols} addrs=${addrs} agent=${oneLine(r.agentVersion ?? '')}`
}

function identifyInfoLine (r) {
  return `IDENTIFY_INFO ${r.peerId.toString()} observed=${r.observedAddr?.toString() ?? ''} protocolVersion=${oneLine(r.protocolVersion ?? '')}`
}

async function createNode (opts, listen) {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // js-libp2p 3 defaults to 5 inbound connections/s per host and resets
      // the rest; tests dial from 127.0.0.1 in bursts.
      inboundConnectionThreshold: 10_000,
      maxIncomingPendingConnections: 1000
    },
    connectionMonitor: { enabled: opts.monitor },
    // mDNS (224.0.0.251:5353, service _p2p._udp.local): queries at start and every interval, answers
    // queries. js-libp2p 3 has no auto-dialer: a discovered peer is only added to the peer store.
    peerDiscovery: opts.mdns ? [mdns({ interval: opts.mdnsInterval })] : [],
    services: {
      // the connection monitor also opens ping streams: allow 2 outbound
      ping: ping({ maxOutboundStreams: 2, maxInboundStreams: 16 }),
      identify: identify(),
      // accepts /ipfs/id/push/1.0.0 (and pushes when our own protocols or addresses change)
      identifyPush: identifyPush()
    }
  })
  await node.handle(ECHO_PROTOCOL, echoHandler, {
    maxInboundStreams: 1024,
    maxOutboundStreams: 1024
  })
  return node
}

async function runListen (opts) {
  const node = await createNode(opts, [`/ip4/${opts.host}/tcp/${opts.port}`])
  node.addEventListener('peer:connect', (evt) => out(`CONNECT ${evt.detail.toString()}`))
  node.addEventListener('peer:disconnect', (evt) => out(`DISCONNECT ${evt.detail.toString()}`))
  node.addEventListener('peer:identify', (evt) => {
    out(identifyLine(evt.detail))
    out(identifyInfoLine(evt.detail))
  })
  // js-libp2p raises 'peer:discovery' when a peer is new to its peer store (from any source, identify too)
  node.addEventListener('peer:discovery', (evt) => {
    const addrs = (evt.detail.multiaddrs ?? []).map(a => a.toString()).join(',')
    out(`DISCOVERED ${evt.detail.id.toString()} ${addrs}`)
  })
  await node.start()

  out(`PEERID ${node.peerId.toString()}`)
  for (const ma of node.getMultiaddrs()) out(`ADDR ${ma.toString()}`)
  out('READY')

  let stopping = false
  const shutdown = async () => {
    if (stopping) return
    stopping = true
    try {
      await node.stop()
    } catch (err) {
      console.error(err)
    }
    exit(0)
  }

  const commands = {
    async ping (args) {
      try {
        const rtt = await node.services.ping.ping(multiaddr(args[0]), { signal: timeoutSignal(opts.timeout) })
        out(`PING_OK ${rtt}`)
      } catch (err) {
        out(`PING_ERR ${errMsg(err)}`)
      }
    },
    async dial (args) {
      try {
        const conn = await node.dial(multiaddr(args[0]), { signal: timeoutSignal(opts.timeout) })
        out(`DIAL_OK ${conn.remotePeer.toString()}`)
      } catch (err) {
        out(`DIAL_ERR ${errMsg(err)}`)
      }
    },
    async echo (args) {
      try {
        const streams = Number(args[1] ?? 1)
        const bytes = Number(args[2] ?? 1024)
        const signal = timeoutSignal(opts.timeout)
        const conn = await node.dial(multiaddr(args[0]), { signal })
        await echoMany(conn, streams, bytes, signal)
        out(`ECHO_OK ${streams}`)
      } catch (err) {
        out(`ECHO_ERR ${errMsg(err)}`)
      }
    },
    async quit () {
      await shutdown()
    }
  }

  const rl = createInterface({ input: process.stdin, terminal: false })
  rl.on('line', (line) => {
    const parts = line.trim().split(/\s+/).filter(Boolean)
    if (parts.length === 0) return
    const cmd = commands[parts[0].toLowerCase()]
    if (cmd == null || !Object.hasOwn(commands, parts[0].toLowerCase())) {
      out(`ERR unknown command ${oneLine(parts[0])}`)
      return
    }
    if (parts[0].toLowerCase() !== 'quit' && parts.length < 2) {
      out(`ERR ${parts[0]} needs a multiaddr`)
      return
    }
    cmd(parts.slice(1)).catch(fail)
  })
  rl.on('close', () => { shutdown().catch(fail) })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { shutdown().catch(fail) })
}

async function runDial (opts) {
  const node = await createNode(opts, [])
  const identified = new Map()
  const waiters = new Map()
  node.addEventListener('peer:identify', (evt) => {
    const id = evt.detail.peerId.toString()
    identified.set(id, evt.detail)
    waiters.get(id)?.(evt.detail)
  })
  await node.start()

  const signal = timeoutSignal(opts.timeout)
  const conn = await node.dial(multiaddr(opts.target), { signal })
  const remote = conn.remotePeer
  const remoteId = remote.toString()
  out(`CONNECTED ${remoteId}`)

  if (!opts.identifyOnly) {
    for (let i = 0; i < opts.pings; i++) {
      const rtt = await node.services.ping.ping(remote, { signal })
      out(`PING_OK ${rtt}`)
    }
  }

  if (!opts.noIdentifyWait) {
    const result = identified.get(remoteId) ?? await new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error('timed out waiting for identify of remote peer'))
      signal.addEventListener('abort', onAbort, { once: true })
      waiters.set(remoteId, (r) => { signal.removeEventListener('abort', onAbort); resolve(r) })
    })
    out(identifyLine(result))
    out(identifyInfoLine(result))
  }

  if (!opts.identifyOnly && opts.echoStreams > 0) {
    try {
      await echoMany(conn, opts.echoStreams, opts.echoBytes, signal)
      out(`ECHO_OK ${opts.echoStreams}`)
    } catch (err) {
      out(`ECHO_ERR ${errMsg(err)}`)
      throw err
    }
  }

  out('DONE')
  await node.stop()
  exit(0)
}

try {
  const opts = parseArgs(process.argv.slice(2))
  listenMode = opts.mode === 'listen'
  if (opts.mode === 'listen') await runListen(opts)
  else await runDial(opts)
} catch (err) {
  fail(err)
}
