import t from 'tap'
import { backgroundKind, jsFrame, kernelKind, mainCategory, parsePerfMap, parsePerfScript, renameJitFrames, summarizePerf } from '../../bench/perf.js'
import { perfTables, type RunReport } from '../../bench/report.js'
import { committedPostgresRun } from '../helpers/benchData.js'

// `perf script -F comm,pid,tid,time,ip,sym,dso` as perf 6 prints it for a service compiled into
// the bench's scratch folder and run with --perf-basic-prof (bench/perf.ts).
const MAP = '(/tmp/perf-100.map)'
const DIST = '/tmp/zhengzhao-bench-dist-abc123/dist'
const NM = '/work/main/node_modules'
const SCRIPT = `node 100/100 5000.000100: 
\t    ffffffff82010ddb tcp_sendmsg ([kernel.kallsyms])
\t    ffffffff816ba3ec do_writev ([kernel.kallsyms])
\t    ffffffff821ef691 do_syscall_64 ([kernel.kallsyms])
\t           fde9d __GI___writev (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t          9d759c node::StreamBase::Writev (/usr/bin/node)
\t    7fc69e863388 JS:*writeGeneric node:internal/stream_base_commons:148:22 ${MAP}
\t    7fc69e863399 JS:*nextWrite ${NM}/postgres/src/connection.js:253:20 ${MAP}
\t    7fc69e8633aa JS:^appendNewOnce ${DIST}/log/store.js:203:9 ${MAP}

node 100/100 5000.000200: 
\t    7fc69e8633bb JS:~ ${NM}/fastify/lib/reply.js:120:1 ${MAP}
\t    7fc69e8633cc JS:*onSendEnd ${NM}/fastify/lib/reply.js:500:3 ${MAP}

node 100/100 5000.000300: 
\t          b50bdf v8::internal::Scavenger::ScavengeObject (/usr/bin/node)
\t          b50bee v8::internal::Heap::CollectGarbage (/usr/bin/node)
\t    7fc69e8633dd JS:*view ${DIST}/certificates/read.js:40:10 ${MAP}

V8 DefaultWorke 100/101 5000.000400: 
\t          b50c00 v8::internal::ConcurrentMarking::RunMajor (/usr/bin/node)

node 100/102 5000.000500: 
\t          b50c11 v8::internal::compiler::GraphReducer::Reduce (/usr/bin/node)
\t          b50c22 v8::internal::OptimizingCompileDispatcher::CompileTask::Run (/usr/bin/node)

node 100/103 5000.000600: 
\t          17f59c5 EVP_DigestVerify (/usr/bin/node)
\t          9dd4a6 node::crypto::SignJob::DoThreadPoolWork (/usr/bin/node)
\t          9dd4b7 uv_work_done (/usr/bin/node)

node 100/100 5000.000700: 
\t    ffffffff82000000 do_epoll_wait ([kernel.kallsyms])
\t    ffffffff821ef691 do_syscall_64 ([kernel.kallsyms])
\t           fde9d epoll_wait (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t          9dd4c8 uv__io_poll (/usr/bin/node)

node 100/100 5000.000710: 
\t          123456 llhttp__internal_execute (/usr/bin/node)
\t          123467 node::(anonymous namespace)::Parser::Execute (/usr/bin/node)
\t          123478 node::LibuvStreamWrap::OnUvRead (/usr/bin/node)

node 100/100 5000.000720: 
\t           9a2b1 _int_malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)

node 200/200 5000.000800: 
\t    7fc69e8633ee JS:*other ${DIST}/log/store.js:1:1 ${MAP}

node 100/100 5009.000000: 
\t    7fc69e8633ff JS:*late ${DIST}/log/store.js:1:1 ${MAP}
`

t.test('perf script output: samples, their threads, times and frames', async (t) => {
  const samples = parsePerfScript(SCRIPT)
  t.equal(samples.length, 11)
  t.match(samples[0], { pid: 100, tid: 100, timeUs: 5000000100 })
  t.equal(samples[0]!.frames.length, 8, 'every frame, leaf first')
  t.same(samples[0]!.frames[0], { symbol: 'tcp_sendmsg', dso: '[kernel.kallsyms]' })
  t.match(samples[3], { pid: 100, tid: 101 }, 'a thread whose name has a space')
  t.same(jsFrame(`JS:*nextWrite ${NM}/postgres/src/connection.js:253:20`), { functionName: 'nextWrite', url: `file://${NM}/postgres/src/connection.js`, lineNumber: 0 })
  t.same(jsFrame('JS:^ node:internal/streams/writable:460:16'), { functionName: '(anonymous)', url: 'node:internal/streams/writable', lineNumber: 0 })
  t.equal(jsFrame('v8::internal::Heap::CollectGarbage'), undefined, 'a native frame is not JavaScript')
})

t.test('each sample in one kind: the main thread by its JavaScript, the kernel by its call, other threads by what they ran', async (t) => {
  const [write, reply, gc, marking, compiler, crypto, epoll, parser, malloc] = parsePerfScript(SCRIPT)
  t.equal(mainCategory(write!.frames), 'access log (leaf, statement, checkpoint signature, proofs)', "the log's statement's socket write is the log's")
  t.equal(kernelKind(write!.frames), 'writes (sockets, pipes, files)')
  t.equal(mainCategory(reply!.frames), 'Fastify (routing, hooks, reply)')
  t.equal(kernelKind(reply!.frames), undefined, 'no kernel frame, no kernel kind')
  t.equal(mainCategory(gc!.frames), 'garbage collection', 'a collection wins over the code that allocated')
  t.match(backgroundKind(marking!.frames), /garbage collector/)
  t.match(backgroundKind(compiler!.frames), /compilers/)
  t.match(backgroundKind(crypto!.frames), /libuv's pool/)
  t.equal(mainCategory(epoll!.frames), 'kernel, no JavaScript on the stack (event loop, interrupts)')
  t.equal(kernelKind(epoll!.frames), 'waiting for events (epoll)')
  t.equal(mainCategory(parser!.frames), 'HTTP in Node (parsing, socket reads and writes)', "Node's HTTP parser, called from a socket read with no JavaScript above it")
  t.equal(mainCategory(malloc!.frames), 'malloc and free, caller unknown (libc keeps no frame pointers)')
})

t.test('a window counts its process only, inside its times, and its shares add up', async (t) => {
  const [summary] = summarizePerf(parsePerfScript(SCRIPT), [{ scenario: 'POST /v1/lookup', pid: 100, windowUs: [5000000000, 5001000000] }])
  t.equal(summary!.samples, 9, 'not the other process, not the sample after the window')
  t.equal(summary!.mainSamples, 6)
  const sum = (xs: { share: number }[]) => xs.reduce((n, x) => n + x.share, 0)
  t.equal(Math.round(sum(summary!.categories) * 1000), 1000, 'main-thread kinds add up to the main thread')
  t.equal(Math.round((sum(summary!.background) + summary!.mainSamples / summary!.samples) * 1000), 1000, 'and with the other threads to the process')
  t.same(summary!.kernel, [
    { kind: 'writes (sockets, pipes, files)', share: 1 / 6 },
    { kind: 'waiting for events (epoll)', share: 1 / 6 },
  ])

  const run = committedPostgresRun()
  const lookup = run.measurements.find((m) => m.name.startsWith('POST /v1/lookup'))!
  const report: RunReport = { ...run, perf: [{ ...summary!, scenario: lookup.name }] }
  const table = perfTables(report)
  const perRequest = (lookup.cpu.service / lookup.rps) * 1e6
  t.match(table, `| all | 100 % | ${perRequest.toFixed(0)} |`, "the process's CPU per request from /proc")
  t.match(table, `| main thread: access log (leaf, statement, checkpoint signature, proofs) | 11.1 % | ${(perRequest / 9).toFixed(0)} |`, 'a kind as a share of the whole process')
  t.match(table, /its main thread 66\.7 %, its other threads 33\.3 %/)
})

t.test('with --workers, the primary and the worker processes are counted apart, in one table', async (t) => {
  // Process 100 is the primary (the log's appender), 200 a worker; 300 is not the service's.
  const script = `${SCRIPT}
node 300/300 5000.000810: 
\t    7fc69e8633ee JS:*elsewhere ${DIST}/log/store.js:1:1 ${MAP}

node 200/201 5000.000820: 
\t          b50c00 v8::internal::ConcurrentMarking::RunMajor (/usr/bin/node)
`
  const [summary] = summarizePerf(parsePerfScript(script), [{ scenario: 'POST /v1/lookup', pid: 100, workers: [200], windowUs: [5000000000, 5001000000] }])
  t.equal(summary!.workers, 1)
  t.equal(summary!.samples, 11, "the primary's nine, the worker's two, not process 300's")
  t.equal(summary!.mainSamples, 7)
  t.match(summary!.categories, [{ role: 'primary' }], 'each kind is the primary or the workers')
  t.ok(summary!.categories.some((c) => c.role === 'workers' && c.share === 1 / 7), "the worker's main thread")
  t.ok(summary!.background.some((b) => b.role === 'workers' && /garbage collector/.test(b.kind)), "the worker's other thread")
  t.ok(
    summary!.kernel.every((k) => k.role === 'primary'),
    "only the primary's samples were in the kernel",
  )

  const [single] = summarizePerf(parsePerfScript(script), [{ scenario: 'POST /v1/lookup', pid: 100, windowUs: [5000000000, 5001000000] }])
  t.equal(single!.samples, 9, 'without workers, the worker is not counted')
  t.notOk(single!.categories.some((c) => c.role), 'and no kind has a role')

  const run = committedPostgresRun()
  const lookup = run.measurements.find((m) => m.name.startsWith('POST /v1/lookup'))!
  const table = perfTables({ ...run, perf: [{ ...summary!, scenario: lookup.name }] } as RunReport)
  t.match(table, /of the service's primary process and its 1 worker process .*their main threads 63\.6 %/)
  t.match(table, /\| workers' main threads: [^|]+\| 9\.1 % \|/, "the worker's main thread as a share of every process")
  t.match(table, /\| workers' other threads: V8's garbage collector[^|]*\| 9\.1 % \|/)
  t.match(table, /\| primary's main thread: access log[^|]*\| 9\.1 % \|/)
  t.match(table, /as a share of the main threads: primary: writes/)
})

t.test("JavaScript frames are named from the perf map as it stood when the window closed, the newest line covering each address", async (t) => {
  // V8 reuses code space: the append-only map holds dead code's lines beside the code now there.
  const lines = [
    '1000 100 JS:*dead /app/log/note.js:1:1', // collected; its space reused by the next line
    '1000 80 JS:*live /app/log/store.js:2:2',
    '3000 40 JS:*other /app/x.js:3:3',
  ]
  const cut = Buffer.byteLength(lines.join('\n') + '\n')
  const later = 'fff0 40 JS:*afterwards /app/verify/repository.js:4:4' // written after the window closed
  const map = parsePerfMap([...lines, later, ''].join('\n'))
  t.same(map.map((e) => [e.start, e.size, e.name.split(' ')[0]]), [[0x1000, 0x100, 'JS:*dead'], [0x1000, 0x80, 'JS:*live'], [0x3000, 0x40, 'JS:*other'], [0xfff0, 0x40, 'JS:*afterwards']])
  t.equal(map[2]!.end, cut, "a line's end is its byte offset in the file")
  const file = '/tmp/perf-100.map'
  const script = `node 100/100 5000.000100: 
\t    1010 JS:*dead /app/log/note.js:1:1 (${file})
\t    1090 JS:*dead /app/log/note.js:1:1 (${file})
\t    10000 JS:*wrong /app/y.js:5:5 (${file})
\t    b50bdf v8::internal::Heap::CollectGarbage (/usr/bin/node)

`
  const samples = parsePerfScript(script)
  t.same(samples[0]!.frames.map((f) => f.ip), [0x1010, 0x1090, 0x10000, undefined], "the address of each frame of compiled JavaScript")
  const [named] = renameJitFrames(samples, map, file, cut)
  t.same(named!.frames.map((f) => f.symbol.split(' ')[0]), ['JS:*live', 'JS:*dead', 'JS:*wrong', 'v8::internal::Heap::CollectGarbage'], "the newest line covering each address names it; one written after the window does not; an address no line covers, and a native frame, keep perf's name")
  const [uncut] = renameJitFrames(samples, map, file)
  t.equal(uncut!.frames[2]!.symbol.split(' ')[0], 'JS:*afterwards', 'without a cut, the newest line of the whole map')
  const [otherMap] = renameJitFrames(samples, map, '/tmp/perf-200.map', cut)
  t.equal(otherMap!.frames[0]!.symbol.split(' ')[0], 'JS:*dead', "another process's map names none of this process's frames")
})
