// An independent SMSC for iys-inbound's interop tests, built on the npm `smpp` package.
//
// node-smpp encodes and decodes PDUs but, as a server, has no session handling: bind
// checks, enquire_link answers, redelivery of unacknowledged messages and the load mode
// are done here. Driven by line-delimited JSON on stdin; reports events on stdout.
'use strict';

const smpp = require('smpp');
const readline = require('readline');
const { performance } = require('perf_hooks');

// Vendor/unknown TLVs must survive the round trip: register a few as raw buffers.
for (const id of [0x1400, 0x1401, 0x2150, 0x3fff]) {
  smpp.addTLV('vendor_' + id.toString(16), { id, type: smpp.types.tlv.buffer });
}

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : fallback;
};

const config = {
  systemId: opt('system-id', 'iys'),
  password: opt('password', 'secret'),
  redeliverOnRebind: opt('redeliver-on-rebind', 'false') === 'true',
  allowSecondBind: opt('allow-second-bind', 'false') === 'true',
  submitErrorStatus: 0,
  submitErrorCount: 0,
};

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
let bound = null;          // the session bound as receiver/transceiver
const unacked = new Map(); // id -> {fields, seq}: deliver_sm not yet answered
let messageIds = 0;

function hexToBuf(hex) { return Buffer.from(hex || '', 'hex'); }

function buildFields(fields) {
  const out = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'short_message' || key === 'message_payload' || key.startsWith('vendor_')) {
      out[key] = hexToBuf(value);
    } else {
      out[key] = value;
    }
  }
  if (!('data_coding' in out)) out.data_coding = 0;
  if (!('esm_class' in out)) out.esm_class = 0;
  return out;
}

function sendDeliver(id, fields) {
  if (!bound) { emit({ event: 'error', id, message: 'no bound session' }); return; }
  const pdu = new smpp.PDU('deliver_sm', buildFields(fields));
  const session = bound;
  const started = performance.now();
  session.send(pdu, (resp) => {
    unacked.delete(id);
    emit({ event: 'deliver_sm_resp', id, seq: resp.sequence_number, status: resp.command_status,
           ms: performance.now() - started });
  });
  unacked.set(id, { fields, seq: pdu.sequence_number });
  emit({ event: 'sent', id, seq: pdu.sequence_number });
}

function onSession(session) {
  session.on('error', (e) => emit({ event: 'error', message: String(e && e.message || e) }));
  const bindHandler = (command) => (pdu) => {
    const ok = pdu.system_id === config.systemId && pdu.password === config.password;
    let status = ok ? 0 : 0x0e; // ESME_RINVPASWD
    if (ok && bound && !config.allowSecondBind && bound !== session) status = 0x05; // RALYBND
    session.send(pdu.response({ command_status: status, system_id: 'node-smsc' }));
    emit({ event: 'bind', command, system_id: pdu.system_id, system_type: pdu.system_type,
           interface_version: pdu.interface_version, address_range: pdu.address_range, status });
    if (status !== 0) return;
    if (command !== 'bind_transmitter') bound = session;
    if (config.redeliverOnRebind && unacked.size) {
      const pending = [...unacked.entries()];
      unacked.clear();
      for (const [id, entry] of pending) sendDeliver(id, entry.fields);
    }
  };
  for (const cmd of ['bind_receiver', 'bind_transceiver', 'bind_transmitter']) {
    session.on(cmd, bindHandler(cmd));
  }
  session.on('enquire_link', (pdu) => {
    emit({ event: 'enquire_link', seq: pdu.sequence_number });
    session.send(pdu.response());
  });
  session.on('enquire_link_resp', (pdu) => emit({ event: 'enquire_link_resp',
                                                   seq: pdu.sequence_number }));
  session.on('unbind', (pdu) => {
    emit({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });
  session.on('unbind_resp', () => { emit({ event: 'unbind_resp' }); session.close(); });
  session.on('generic_nack', (pdu) => emit({ event: 'generic_nack', seq: pdu.sequence_number,
                                             status: pdu.command_status }));
  session.on('submit_sm', (pdu) => {
    let status = 0;
    if (config.submitErrorCount > 0) { config.submitErrorCount -= 1; status = config.submitErrorStatus; }
    emit({ event: 'submit_sm', status, source_addr: pdu.source_addr,
           destination_addr: pdu.destination_addr, data_coding: pdu.data_coding,
           esm_class: pdu.esm_class, raw_hex: rawShortMessage(pdu) });
    session.send(pdu.response({ command_status: status,
                                message_id: status === 0 ? 'n' + (++messageIds) : '' }));
  });
  session.on('close', () => {
    if (bound === session) bound = null;
    emit({ event: 'close' });
  });
}

// node-smpp decodes short_message; for assertions we want the bytes as sent
function rawShortMessage(pdu) {
  const sm = pdu.short_message;
  if (Buffer.isBuffer(sm)) return sm.toString('hex');
  if (sm && Buffer.isBuffer(sm.message)) {
    const udh = sm.udh ? Buffer.concat([Buffer.from([sm.udh.reduce((n, u) => n + u.length, 0)]), ...sm.udh]) : Buffer.alloc(0);
    return Buffer.concat([udh, sm.message]).toString('hex');
  }
  return null;
}

function runLoad(cmd) {
  // n deliver_sm with at most `window` outstanding; latency deliver_sm -> deliver_sm_resp
  const { n, window: win, fields } = cmd;
  const latencies = [];
  let sent = 0, done = 0, failed = 0;
  const started = performance.now();
  const pump = () => {
    while (bound && sent < n && sent - done < win) {
      const f = buildFields(fields);
      f.source_addr = String(BigInt(fields.source_addr || '905300000000') + BigInt(sent));
      const pdu = new smpp.PDU('deliver_sm', f);
      const t0 = performance.now();
      sent += 1;
      bound.send(pdu, (resp) => {
        latencies.push(performance.now() - t0);
        done += 1;
        if (resp.command_status !== 0) failed += 1;
        if (done === n) finish(); else pump();
      });
    }
  };
  const finish = () => {
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    emit({ event: 'load_done', id: cmd.id, n, failed, seconds, rate: n / seconds,
           p50_ms: q(0.5), p99_ms: q(0.99) });
  };
  pump();
}

const server = smpp.createServer({}, onSession);
server.listen(Number(opt('port', '0')), '127.0.0.1', () => {
  emit({ event: 'listening', port: server.address().port });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { emit({ event: 'error', message: 'bad command' }); return; }
  switch (cmd.cmd) {
    case 'deliver': sendDeliver(cmd.id, cmd.fields); break;
    case 'raw':
      if (bound) { bound.socket.write(hexToBuf(cmd.hex)); emit({ event: 'raw_sent', id: cmd.id }); }
      else emit({ event: 'error', id: cmd.id, message: 'no bound session' });
      break;
    case 'drop':
      if (bound) { const s = bound; bound = null; s.socket.destroy(); }
      emit({ event: 'dropped', id: cmd.id });
      break;
    case 'unbind':
      if (bound) bound.send(new smpp.PDU('unbind', {}));
      emit({ event: 'unbind_sent', id: cmd.id });
      break;
    case 'enquire':
      if (bound) bound.send(new smpp.PDU('enquire_link', {}));
      break;
    case 'set':
      if ('password' in cmd) config.password = cmd.password;
      if ('redeliver_on_rebind' in cmd) config.redeliverOnRebind = cmd.redeliver_on_rebind;
      if ('submit_error_status' in cmd) config.submitErrorStatus = cmd.submit_error_status;
      if ('submit_error_count' in cmd) config.submitErrorCount = cmd.submit_error_count;
      emit({ event: 'set', id: cmd.id });
      break;
    case 'stats':
      emit({ event: 'stats', id: cmd.id, unacked: unacked.size, bound: !!bound });
      break;
    case 'load': runLoad(cmd); break;
    default: emit({ event: 'error', message: 'unknown command ' + cmd.cmd });
  }
});
