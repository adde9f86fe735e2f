// js-to-js self test of peer.mjs, driven exactly as the C# tests drive it:
// child processes, stdout lines, stdin commands.
//   node selftest.mjs        (from interop/js, after `npm ci`)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'

const dir = dirname(fileURLToPath(import.meta.url))
const NODE_ARGS = ['--import', './polyfill.mjs', 'peer.mjs']

function start (args) {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = []
  const waiters = []
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line)
    for (const w of [...waiters]) w()
  })
  const exited = once(child, 'exit').then(([code]) => code)
  return {
    child,
    lines,
    exited,
    get stderr () { return stderr },
    send (line) { child.stdin.write(line + '\n') },
    /** wait for a line matching re, appearing after index `from` */
    waitFor (re, from = 0, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = lines.slice(from).find(x => re.test(x))
          if (l != null) { clear(); resolve(l); return true }
          return false
        }
        const timer = setTimeout(() => { clear(); reject(new Error(`timeout waiting for ${re} in ${JSON.stringify(lines)} stderr=${stderr}`)) }, ms)
        const clear = () => { clearTimeout(timer); const i = waiters.indexOf(check); if (i >= 0) waiters.splice(i, 1) }
        if (!check()) waiters.push(check)
      })
    }
  }
}

async function listener () {
  const p = start(['listen', '--port', '0'])
  await p.waitFor(/^READY$/)
  p.peerId = p.lines.find(l => l.startsWith('PEERID ')).split(' ')[1]
  p.addr = p.lines.find(l => l.startsWith('ADDR ')).split(' ')[1]
  return p
}

let passed = 0
let failed = 0
async function test (name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    passed++
    console.log(`ok - ${name} (${Date.now() - t0} ms)`)
  } catch (err) {
    failed++
    console.log(`not ok - ${name}: ${err.stack ?? err}`)
  }
}
function assert (cond, msg) { if (!cond) throw new Error(msg) }

const a = await listener()
const b = await listener()

await test('dial: pings, identify, 10 x 1 MiB echo streams', async () => {
  const d = start(['dial', a.addr, '--pings', '3', '--echo-streams', '10', '--echo-bytes', '1048576'])
  const code = await d.exited
  assert(code === 0, `exit ${code}: ${d.lines.join('\n')} ${d.stderr}`)
  assert(d.lines[0] === `CONNECTED ${a.peerId}`, d.lines[0])
  assert(d.lines.filter(l => /^PING_OK \d+$/.test(l)).length === 3, 'pings')
  const id = d.lines.find(l => l.startsWith('IDENTIFY '))
  assert(id.startsWith(`IDENTIFY ${a.peerId} protocols=`), id)
  assert(/protocols=\S*\/ipfs\/ping\/1\.0\.0/.test(id) && id.includes('/p2pnet/echo/1.0.0') && id.includes('/ipfs/id/1.0.0'), id)
  assert(id.includes(`addrs=${a.addr.replace(/\/p2p\/.*$/, '')}`), id)
  assert(/ agent=js-libp2p\//.test(id), id)
  assert(d.lines.includes('ECHO_OK 10'), 'echo')
  assert(d.lines.at(-1) === 'DONE', 'DONE last')
  await a.waitFor(/^IDENTIFY 12D3/, 0)
  await a.waitFor(/^CONNECT /, 0)
})

await test('dial --identify-only', async () => {
  const d = start(['dial', b.addr, '--identify-only'])
  assert(await d.exited === 0, d.lines.join('\n'))
  assert(d.lines.some(l => l.startsWith(`IDENTIFY ${b.peerId} `)), 'identify')
  assert(d.lines.at(-1) === 'DONE', 'DONE')
})

await test('dial: large echo with backpressure (4 x 16 MiB)', async () => {
  const d = start(['dial', a.addr, '--no-identify', '--echo-streams', '4', '--echo-bytes', String(16 * 1024 * 1024)])
  assert(await d.exited === 0, d.lines.join('\n') + d.stderr)
  assert(d.lines.includes('ECHO_OK 4'), 'echo')
})

await test('dial error: bad peer id gives ERROR and non-zero exit', async () => {
  const wrong = a.addr.replace(a.peerId, b.peerId)
  const d = start(['dial', wrong, '--timeout', '5000'])
  const code = await d.exited
  assert(code !== 0, 'non-zero exit')
  assert(d.lines.some(l => l.startsWith('ERROR ')), d.lines.join('\n'))
})

await test('listener stdin: ping, dial, echo against another listener', async () => {
  const from = a.lines.length
  a.send(`ping ${b.addr}`)
  const l = await a.waitFor(/^PING_(OK|ERR)/, from)
  assert(/^PING_OK \d+$/.test(l), l)
  a.send(`dial ${b.addr}`)
  assert(await a.waitFor(/^DIAL_(OK|ERR)/, from) === `DIAL_OK ${b.peerId}`, 'dial')
  a.send(`echo ${b.addr} 3 100000`)
  assert(await a.waitFor(/^ECHO_(OK|ERR)/, from) === 'ECHO_OK 3', 'echo')
  a.send('ping /ip4/127.0.0.1/tcp/1')
  assert((await a.waitFor(/^PING_ERR /, from)).length > 9, 'ping err')
})

await test('listener: quit exits 0, stdin close exits 0', async () => {
  a.send('quit')
  assert(await a.exited === 0, 'quit')
  b.child.stdin.end()
  assert(await b.exited === 0, 'stdin close')
})

a.child.kill()
b.child.kill()
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
