#!/usr/bin/env node
// The benchmark's SMSC: tests/peer/smsc.js itself (npm `smpp` 0.5.1, same load mode, same
// latency measurement), loaded unchanged, with two additions made from the outside:
//
// 1. A `#` run in a deliver_sm `source_addr` is replaced by a per-process counter
//    (`90532#######` -> `905320000001`, `905320000002`, ...). The load mode sends one set of
//    fields N times; iys-inbound recognises an identical PDU on the same link as a
//    redelivery (DESIGN-NOTES "Redelivery") and would store N-1 of them without any
//    decoding, keyword matching or consent event. Unique senders make every message a new MO.
// 2. A `paced` command, {n, rate, fields} -> paced_done {n, answered, errors, seconds,
//    offered, rate, p50_ms, p99_ms, max_ms}: open-loop load at a fixed offered rate (no
//    window), for "ack p99 at 1,000 MO/s offered". Its PDUs use sequence numbers from
//    0x60000000 up and their responses never reach smsc.js.
// 3. A `counter` command, {set?} -> counter {value}: reads (or sets) the sender counter of 1.,
//    so a benchmark knows which senders the next run will use (e.g. to give each an ONAY in
//    the İYS sandbox before a RET wave).
//
// Run as `node bench/peer.js PORT` exactly like smsc.js (config in SMSC_PEER_CONFIG).
'use strict';

const path = require('path');
const readline = require('readline');
const peerDir = path.join(__dirname, '..', 'tests', 'peer');
// the very module instance smsc.js gets from require('smpp')
const smpp = require(require.resolve('smpp', {paths: [peerDir]}));

// --- 1. unique source_addr (and the mixed load's cycle) -------------------------------
let counter = 0;
// 4. A `mix` command, {cycle: [{destination_addr, data_coding, text_hex, concat?}] | null}
//    -> mix {size}: while set, every deliver_sm the load writes takes the next entry of the
//    cycle instead of its own text, number and coding (bench/mixed.py builds it). An entry
//    with concat [total, seq] gets an 8-bit concatenation UDH (esm_class 0x40) whose
//    reference is the message's sender counter; parts 2..total keep part 1's sender.
let mixCycle = null;
let mixAt = 0;
function mixed(options) {
  const entry = mixCycle[mixAt % mixCycle.length];
  mixAt += 1;
  const startsMessage = !entry.concat || entry.concat[1] === 1;
  if (startsMessage) counter += 1;
  const source = options.source_addr.replace(/#+/, (run) => String(counter).padStart(run.length, '0'));
  let body = Buffer.from(entry.text_hex, 'hex');
  let esm = options.esm_class || 0;
  if (entry.concat) {
    body = Buffer.concat([Buffer.from([5, 0, 3, counter & 0xff, entry.concat[0], entry.concat[1]]), body]);
    esm |= 0x40;
  }
  return Object.assign({}, options, {source_addr: source, destination_addr: entry.destination_addr,
    data_coding: entry.data_coding, esm_class: esm, short_message: body});
}
const OriginalPDU = smpp.PDU;
function expand(options) {
  if (mixCycle && options && typeof options.source_addr === 'string' &&
      options.source_addr.includes('#')) return mixed(options);
  const source = options && options.source_addr;
  if (typeof source !== 'string' || !source.includes('#')) return options;
  counter += 1;
  const run = source.match(/#+/)[0];
  return Object.assign({}, options, {
    source_addr: source.replace(run, String(counter).padStart(run.length, '0')),
  });
}
function PDU(command, options) {
  return new OriginalPDU(command, command === 'deliver_sm' ? expand(options) : options);
}
PDU.prototype = OriginalPDU.prototype;
Object.assign(PDU, OriginalPDU);
smpp.PDU = PDU;

// --- 2. paced load -----------------------------------------------------------------------
let latestSession = null;
const paced = new Map(); // seq -> {sentAt, run}
const originalCreateServer = smpp.createServer;
smpp.createServer = function createServer(...args) {
  const listener = args.pop();
  return originalCreateServer.call(this, ...args, (session) => {
    latestSession = session;
    const emit = session.emit.bind(session);
    session.emit = (name, pdu, ...rest) => {
      if (name === 'pdu' && pdu && pdu.command === 'deliver_sm_resp' &&
          paced.has(pdu.sequence_number)) {
        const sent = paced.get(pdu.sequence_number);
        paced.delete(pdu.sequence_number);
        sent.run.onResp(sent.sentAt, pdu.command_status);
        return true;
      }
      return emit(name, pdu, ...rest);
    };
    session.on('close', () => {
      if (latestSession === session) latestSession = null;
    });
    listener(session);
  });
};

function out(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function runPaced(cmd) {
  const session = latestSession;
  if (!session) throw new Error('paced: no session');
  const options = {};
  for (const [key, value] of Object.entries(cmd.fields || {})) {
    if (key === 'tlvs') continue;
    options[key] = ['short_message', 'message_payload'].includes(key) ?
      Buffer.from(value, 'hex') : value;
  }
  const n = cmd.n;
  const rate = cmd.rate;
  const latencies = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  const statuses = {};  // command_status of the answers that were not ESME_ROK: how many
  let nextSeq = 0x60000000;
  const started = process.hrtime.bigint();
  let timer = null;
  const run = {
    onResp(sentAt, status) {
      latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      answered += 1;
      if (status !== 0) {
        errors += 1;
        statuses[status] = (statuses[status] || 0) + 1;
      }
      if (answered === n) finish('complete');
    },
  };
  function finish(reason) {
    clearInterval(timer);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sorted = latencies.slice().sort((a, b) => a - b);
    const pct = (p) => sorted.length ?
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
    out({event: 'paced_done', id: cmd.id, n, answered, errors, seconds, offered: rate,
      rate: answered / seconds, p50_ms: pct(0.5), p99_ms: pct(0.99),
      max_ms: sorted.length ? sorted[sorted.length - 1] : null, reason, counter, statuses});
  }
  function tick() {
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const due = Math.min(n, Math.floor(elapsed * rate) + 1);
    while (sent < due) {
      sent += 1;
      const seq = nextSeq++;
      const pdu = new smpp.PDU('deliver_sm', Object.assign({}, options, {sequence_number: seq}));
      paced.set(seq, {sentAt: process.hrtime.bigint(), run});
      session.socket.write(pdu.toBuffer());
    }
    if (elapsed > n / rate + 60) finish('timeout');
  }
  timer = setInterval(tick, 2);
  tick();
}

const originalCreateInterface = readline.createInterface;
readline.createInterface = function createInterface(...args) {
  const rl = originalCreateInterface.apply(this, args);
  const on = rl.on.bind(rl);
  rl.on = (name, handler) => on(name, name !== 'line' ? handler : (line) => {
    let cmd = null;
    try {
      cmd = JSON.parse(line);
    } catch (error) {
      return handler(line);
    }
    if (cmd && cmd.cmd === 'counter') {
      if (Number.isInteger(cmd.set)) counter = cmd.set;
      return out({event: 'counter', id: cmd.id, value: counter});
    }
    if (cmd && cmd.cmd === 'mix') {
      mixCycle = Array.isArray(cmd.cycle) && cmd.cycle.length ? cmd.cycle : null;
      mixAt = 0;
      return out({event: 'mix', id: cmd.id, size: mixCycle ? mixCycle.length : 0});
    }
    if (!cmd || cmd.cmd !== 'paced') return handler(line);
    try {
      runPaced(cmd);
    } catch (error) {
      out({event: 'error', id: cmd.id, command: 'paced', message: String(error.message)});
    }
  });
  return rl;
};

require(path.join(peerDir, 'smsc.js'));
