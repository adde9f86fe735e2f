// js-libp2p circuit relay v2 peers for P2PNet interop tests (@libp2p/circuit-relay-v2). Lines on stdout:
//
//   node --import ./polyfill.mjs relay.mjs relay
//        a relay (hop server): PEERID <id>, ADDR <multiaddr/p2p/id>; serves until stdin ends
//   node --import ./polyfill.mjs relay.mjs reserve <relay multiaddr/p2p/RELAY>
//        reserves on the relay: PEERID <id>, then CIRCUIT <relay…/p2p-circuit/p2p/id> once it holds the
//        reservation; answers ping (also on limited connections) until stdin ends
//   node --import ./polyfill.mjs relay.mjs dial <…/p2p/RELAY/p2p-circuit/p2p/TARGET> [--pings N]
//        dials through the relay: CONNECTED <id> <limited|direct>, PING_OK <ms> per ping, DONE (exit 0),
//        or ERROR <message> (exit 1)

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const out = (line) => process.stdout.write(line + '\n')
const errMsg = (err) => String(err?.message ?? err).replace(/[\r\n]+/g, ' ')

let exiting = false
function exit (code) {
  if (exiting) return
  exiting = true
  process.stdout.write('', () => process.exit(code))
  setTimeout(() => process.exit(code), 2000).unref()
}

function fail (err) {
  out(`ERROR ${errMsg(err)}`)
  console.error(err?.stack ?? err)
  exit(1)
}

const [mode, target, ...rest] = process.argv.slice(2)
let pings = 3
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--pings') pings = Number(rest[++i])
  else fail(new Error(`unknown argument ${rest[i]}`))
}

// Serve until stdin ends (the test closes it, or dies).
function untilStdinEnds (node) {
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await node.stop().catch(() => {})
    exit(0)
  })
}

const base = {
  transports: [tcp(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionMonitor: { enabled: false }
}

async function main () {
  if (mode === 'relay') {
    const node = await createLibp2p({
      ...base,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      services: { identify: identify(), ping: ping(), relay: circuitRelayServer() }
    })
    out(`PEERID ${node.peerId.toString()}`)
    for (const ma of node.getMultiaddrs()) out(`ADDR ${ma.toString()}`)
    untilStdinEnds(node)
  } else if (mode === 'reserve') {
    if (target == null) throw new Error('reserve needs the relay multiaddr')
    const node = await createLibp2p({
      ...base,
      addresses: { listen: [`${target}/p2p-circuit`] },
      services: { identify: identify(), ping: ping({ runOnLimitedConnection: true }) }
    })
    out(`PEERID ${node.peerId.toString()}`)
    const printed = new Set()
    const report = () => {
      for (const ma of node.getMultiaddrs()) {
        const s = ma.toString()
        if (s.includes('/p2p-circuit') && !printed.has(s)) {
          printed.add(s)
          out(`CIRCUIT ${s}`)
        }
      }
    }
    node.addEventListener('self:peer:update', report)
    report()
    untilStdinEnds(node)
  } else if (mode === 'dial') {
    if (target == null) throw new Error('dial needs a circuit multiaddr')
    const node = await createLibp2p({
      ...base,
      services: { identify: identify(), ping: ping({ runOnLimitedConnection: true }) }
    })
    const signal = AbortSignal.timeout(30_000)
    const conn = await node.dial(multiaddr(target), { signal })
    out(`CONNECTED ${conn.remotePeer.toString()} ${conn.limits != null ? 'limited' : 'direct'}`)
    for (let i = 0; i < pings; i++) {
      const rtt = await node.services.ping.ping(conn.remoteAddr, { signal, runOnLimitedConnection: true })
      out(`PING_OK ${rtt}`)
    }
    out('DONE')
    await node.stop().catch(() => {})
    exit(0)
  } else {
    throw new Error('usage: relay.mjs relay | reserve <relay-ma> | dial <circuit-ma> [--pings N]')
  }
}

process.on('uncaughtException', fail)
process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err?.stack ?? err))
main().catch(fail)
