#!/usr/bin/env node
// An independent SMSC for interop tests, built on node-smpp (npm `smpp`, pinned 0.5.1).
//
// node-smpp encodes and decodes PDUs but, as a server, has no session handling; this script
// supplies the part a real SMSC does (bind checks, enquire_link, unbind, redelivery) and
// nothing more: response timeouts and windows on the ESME side are the tests' business.
//
// Control: one JSON command per line on stdin; one JSON event per line on stdout.
// Configuration: argv[2] is the port (0 = ephemeral); SMSC_PEER_CONFIG holds a JSON object
// {system_id, password, redeliver_on_rebind, allow_second_bind}. The password travels in the
// environment, not argv, so that it never shows in a process listing, and it is never printed.
//
// Commands ({"cmd": ..., "id": n, ...}; each is answered by an event carrying the same id,
// or by {"event": "error", "id": n, "message"}):
//   deliver {fields, conn?}   -> sent {seq, conn}. fields: deliver_sm fields; data_coding is
//                                required; short_message / message_payload as hex; named TLVs
//                                (sar_*, receipted_message_id, message_state, ...) as values;
//                                tlvs: [{tag, hex, length?}] appended raw (any tag)
//   raw {hex, conn?}          -> sent {octets}      (bytes straight to the socket)
//   drop {conn?}              -> dropped {conns}    (TCP destroyed, no unbind)
//   unbind | enquire {conn?}  -> sent {seq}
//   set {password, reject_next_binds, submit_error_status, submit_error_count,
//        redeliver_on_rebind, allow_second_bind} -> ok
//   stats                     -> stats {counts, outstanding, connections, bound, ...}
//   load {n, window, fields}  -> load_done {answered, errors, seconds, rate, p50_ms, p99_ms}
//   flood {n, burst, retry_ms, fields, numbered} -> flood_done {n, acked, throttled, errors,
//                                sent, seconds, rate, max_outstanding}: n deliver_sm written
//                                `burst` at a time without waiting for any response; one
//                                answered with an error is sent again (same bytes, new
//                                sequence number) after retry_ms, as an SMSC does, until every
//                                one is acked 0. numbered: short_message gets " <i>" appended
//   stop                      -> ok, then exit (closing stdin does the same)
// Events without an id: listening {port}, connect, bind, deliver_sm_resp {seq, status, id},
// submit_sm, enquire_link, enquire_link_resp, unbind, unbind_resp, generic_nack, pdu (any
// other command), close {bound_as, unacked}, error {conn, message}; sent {redelivered: true}
// for redeliveries. Sequence numbers are unique across all sessions of the process.
'use strict';

const readline = require('readline');
const smpp = require('smpp');

const ESME_ROK = 0x00;
const ESME_RALYBND = 0x05;
const ESME_RINVBNDSTS = 0x04;
const ESME_RBINDFAIL = 0x0d;
const ESME_RINVPASWD = 0x0e;
const ESME_RINVSYSID = 0x0f;
const ESME_RTHROTTLED = 0x58;
const MAX_SHORT_MESSAGE = 254; // sm_length is one octet; 255 is reserved by most SMSCs

const config = Object.assign(
  {system_id: 'iys', password: 'secret', redeliver_on_rebind: false, allow_second_bind: false},
  JSON.parse(process.env.SMSC_PEER_CONFIG || '{}'),
);
const knobs = {reject_next_binds: 0, submit_error_status: 0, submit_error_count: 0};

// We want the exact octets on the wire in our events, not node-smpp's guess at a text
// decoding, so short_message / message_payload are left as Buffers when decoding.
const identityDecode = (value) => value;
for (const command of ['submit_sm', 'deliver_sm', 'data_sm']) {
  const param = (smpp.commands[command].params || {}).short_message;
  if (param && param.filter) {
    param.filter = {encode: param.filter.encode, decode: identityDecode};
  }
}
smpp.tlvs.message_payload.filter = {
  encode: smpp.tlvs.message_payload.filter.encode,
  decode: identityDecode,
};

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({event}, fields)) + '\n');
}

const counts = {};
function count(name) {
  counts[name] = (counts[name] || 0) + 1;
}

// Sequence numbers are unique across all sessions of this process, so a test can wait for
// "the resp to seq N" without saying which connection it was on.
let lastSequence = 0;
function nextSequence() {
  lastSequence = lastSequence >= 0x7fffffff ? 1 : lastSequence + 1;
  return lastSequence;
}

let nextConnId = 0;
let nextMessageId = 0;
const connections = new Map(); // conn id -> state
// Deliveries written to a session that closed before answering them; re-sent on the next
// receiver bind when config.redeliver_on_rebind is set.
let unackedFromClosedSessions = [];

function newState(session) {
  return {
    conn: ++nextConnId,
    session,
    boundAs: null, // 'bind_receiver' | 'bind_transceiver' | 'bind_transmitter'
    outstanding: new Map(), // seq -> {id, fields, rawTlvs, sentAt, load}
    unbindSent: false,
  };
}

function canReceive(state) {
  return state.boundAs === 'bind_receiver' || state.boundAs === 'bind_transceiver';
}

function anyOtherBound(state) {
  for (const other of connections.values()) {
    if (other !== state && other.boundAs) return true;
  }
  return false;
}

// Target of a command: the given conn, else the newest session bound to receive, else
// (for raw writes before a bind) the newest open connection.
function pickTarget(cmd, allowUnbound) {
  if (cmd.conn !== undefined) return connections.get(cmd.conn) || null;
  const all = [...connections.values()].reverse();
  return all.find(canReceive) || all.find((s) => s.boundAs) || (allowUnbound ? all[0] : null) || null;
}

function writeRaw(state, buffer) {
  if (state.session.socket.destroyed || !state.session.socket.writable) return false;
  state.session.socket.write(buffer);
  return true;
}

// node-smpp cannot emit a TLV with a tag it does not know (and only in the type it knows),
// so raw TLVs are appended to its encoding and command_length is fixed up.
function encodeWithRawTlvs(pdu, rawTlvs) {
  let buffer = pdu.toBuffer();
  if (rawTlvs.length) {
    const parts = [buffer];
    for (const tlv of rawTlvs) {
      const value = Buffer.from(tlv.hex, 'hex');
      const head = Buffer.alloc(4);
      head.writeUInt16BE(tlv.tag, 0);
      head.writeUInt16BE(tlv.length === undefined ? value.length : tlv.length, 2);
      parts.push(head, value);
    }
    buffer = Buffer.concat(parts);
    buffer.writeUInt32BE(buffer.length, 0);
  }
  return buffer;
}

const HEX_FIELDS = ['short_message', 'message_payload'];

function buildDeliverOptions(fields) {
  if (fields.data_coding === undefined || fields.data_coding === null) {
    // node-smpp would otherwise pick one, and label GSM code points as IA5
    throw new Error('deliver: data_coding must be given explicitly');
  }
  const options = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'tlvs') continue;
    options[key] = HEX_FIELDS.includes(key) ? Buffer.from(value, 'hex') : value;
  }
  if (!options.short_message) options.short_message = Buffer.alloc(0);
  if (options.short_message.length > MAX_SHORT_MESSAGE) {
    throw new Error(`deliver: short_message is ${options.short_message.length} octets; ` +
      `use message_payload beyond ${MAX_SHORT_MESSAGE}`);
  }
  return options;
}

function sendDeliver(state, message) {
  const seq = nextSequence();
  const options = buildDeliverOptions(message.fields);
  options.sequence_number = seq;
  const pdu = new smpp.PDU('deliver_sm', options);
  const buffer = encodeWithRawTlvs(pdu, message.fields.tlvs || []);
  if (!writeRaw(state, buffer)) throw new Error(`deliver: connection ${state.conn} not writable`);
  state.outstanding.set(seq, {
    id: message.id, fields: message.fields, sentAt: process.hrtime.bigint(), load: message.load,
  });
  count('deliver_sm');
  return seq;
}

function redeliverTo(state) {
  const pending = unackedFromClosedSessions;
  unackedFromClosedSessions = [];
  for (const message of pending) {
    const seq = sendDeliver(state, message);
    emit('sent', {id: message.id, seq, conn: state.conn, redelivered: true});
  }
}

function onBind(state, pdu) {
  const passwordOk = pdu.password === config.password;
  let status = ESME_ROK;
  if (state.boundAs) status = ESME_RALYBND;
  else if (pdu.system_id !== config.system_id) status = ESME_RINVSYSID;
  else if (!passwordOk) status = ESME_RINVPASWD;
  else if (knobs.reject_next_binds > 0) {
    knobs.reject_next_binds -= 1;
    status = ESME_RBINDFAIL;
  } else if (!config.allow_second_bind && anyOtherBound(state)) status = ESME_RALYBND;

  const options = {command_status: status};
  if (status === ESME_ROK) options.system_id = 'node-smsc';
  state.session.send(pdu.response(options));
  if (status === ESME_ROK) state.boundAs = pdu.command;
  count(status === ESME_ROK ? 'bind_ok' : 'bind_failed');
  emit('bind', {
    conn: state.conn,
    command: pdu.command,
    system_id: pdu.system_id,
    password: passwordOk ? 'ok' : 'failed',
    system_type: pdu.system_type,
    interface_version: pdu.interface_version,
    addr_ton: pdu.addr_ton,
    addr_npi: pdu.addr_npi,
    address_range: pdu.address_range,
    status,
  });
  if (status === ESME_ROK && canReceive(state) && config.redeliver_on_rebind) {
    redeliverTo(state);
  }
}

function onDeliverResp(state, pdu) {
  const sent = state.outstanding.get(pdu.sequence_number);
  state.outstanding.delete(pdu.sequence_number);
  count(pdu.command_status === ESME_ROK ? 'deliver_sm_resp_ok' : 'deliver_sm_resp_error');
  if (sent && sent.load) {
    sent.load.onResp(sent, pdu.command_status);
    return;
  }
  const event = {conn: state.conn, seq: pdu.sequence_number, status: pdu.command_status};
  if (sent) {
    event.id = sent.id;
    event.latency_ms = Number(process.hrtime.bigint() - sent.sentAt) / 1e6;
  } else {
    event.unexpected = true; // a resp to nothing we sent (or answered twice)
  }
  emit('deliver_sm_resp', event);
}

function describeSubmit(pdu) {
  const params = smpp.commands.submit_sm.params;
  const fields = {};
  for (const key of Object.keys(params)) {
    const value = pdu[key];
    fields[key] = Buffer.isBuffer(value) ? value.toString('hex') : value;
  }
  for (const key of Object.keys(pdu)) {
    if (key in smpp.tlvs && !(key in params)) {
      const value = pdu[key];
      fields[key] = Buffer.isBuffer(value) ? value.toString('hex') : value;
    } else if (/^\d+$/.test(key)) {
      fields[`tlv_0x${Number(key).toString(16).padStart(4, '0')}`] = pdu[key].toString('hex');
    }
  }
  return fields;
}

function onSubmit(state, pdu) {
  count('submit_sm');
  let status = ESME_ROK;
  if (state.boundAs !== 'bind_transmitter' && state.boundAs !== 'bind_transceiver') {
    status = ESME_RINVBNDSTS;
  } else if (knobs.submit_error_count > 0 && knobs.submit_error_status) {
    knobs.submit_error_count -= 1;
    status = knobs.submit_error_status;
  }
  const messageId = status === ESME_ROK ? `node-${++nextMessageId}` : undefined;
  state.session.send(pdu.response(status === ESME_ROK ?
    {message_id: messageId} : {command_status: status}));
  emit('submit_sm', {
    conn: state.conn, seq: pdu.sequence_number, status, message_id: messageId,
    fields: describeSubmit(pdu),
  });
}

function onPdu(state, pdu) {
  const base = {conn: state.conn, seq: pdu.sequence_number};
  switch (pdu.command) {
    case 'bind_receiver':
    case 'bind_transceiver':
    case 'bind_transmitter':
      return onBind(state, pdu);
    case 'deliver_sm_resp':
      return onDeliverResp(state, pdu);
    case 'submit_sm':
      return onSubmit(state, pdu);
    case 'enquire_link':
      count('enquire_link');
      state.session.send(pdu.response());
      return emit('enquire_link', base);
    case 'enquire_link_resp':
      count('enquire_link_resp');
      return emit('enquire_link_resp', Object.assign(base, {status: pdu.command_status}));
    case 'unbind':
      count('unbind');
      state.session.send(pdu.response());
      state.boundAs = null;
      return emit('unbind', base);
    case 'unbind_resp':
      count('unbind_resp');
      state.boundAs = null;
      emit('unbind_resp', Object.assign(base, {status: pdu.command_status}));
      // the side that asked for the unbind closes the connection (SMPP 3.4 §2.2.1)
      return state.session.close();
    case 'generic_nack': {
      count('generic_nack');
      const sent = state.outstanding.get(pdu.sequence_number);
      return emit('generic_nack', Object.assign(base, {
        status: pdu.command_status, id: sent ? sent.id : undefined,
      }));
    }
    default:
      count('other_pdu');
      if (!pdu.isResponse()) {
        // unknown commands get generic_nack ESME_RINVCMDID from node-smpp's response()
        state.session.send(pdu.response());
      }
      return emit('pdu', Object.assign(base, {
        command: pdu.command, command_id: pdu.command_id, status: pdu.command_status,
      }));
  }
}

function onClose(state) {
  connections.delete(state.conn);
  const unacked = [...state.outstanding.values()].filter((m) => !m.load);
  for (const message of state.outstanding.values()) {
    if (message.load) message.load.onLost();
  }
  if (config.redeliver_on_rebind) unackedFromClosedSessions.push(...unacked);
  count('close');
  emit('close', {conn: state.conn, bound_as: state.boundAs, unacked: unacked.length});
}

const server = smpp.createServer((session) => {
  const state = newState(session);
  connections.set(state.conn, state);
  session.socket.setNoDelay(true); // otherwise some PDUs wait ~40 ms for Nagle
  count('connect');
  emit('connect', {conn: state.conn, remote_port: session.socket.remotePort});
  session.on('pdu', (pdu) => onPdu(state, pdu));
  session.on('error', (error) => {
    // node-smpp stops reading this session after a decoding error; the tests drop it
    count('error');
    emit('error', {conn: state.conn, message: String(error && error.message || error)});
  });
  session.on('close', () => onClose(state));
});

// --- load mode: n deliver_sm with at most `window` outstanding, latency percentiles ------
function runLoad(cmd) {
  const state = pickTarget(cmd, false);
  if (!state) throw new Error('load: no bound receiver');
  const n = cmd.n;
  const window = Math.max(1, cmd.window || 1);
  const latencies = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let finished = false;
  const started = process.hrtime.bigint();
  const load = {
    onResp(message, status) {
      latencies.push(Number(process.hrtime.bigint() - message.sentAt) / 1e6);
      if (status !== ESME_ROK) errors += 1;
      answered += 1;
      pump();
    },
    onLost() {
      finish('connection closed');
    },
  };
  const percentile = (sorted, p) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
  function finish(reason) {
    if (finished) return;
    finished = true;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sorted = latencies.slice().sort((a, b) => a - b);
    emit('load_done', {
      id: cmd.id, n, answered, errors, window, seconds,
      rate: answered / seconds,
      p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99),
      max_ms: sorted.length ? sorted[sorted.length - 1] : null,
      reason,
    });
  }
  function pump() {
    if (finished) return;
    while (sent < n && sent - answered < window) {
      sent += 1;
      sendDeliver(state, {id: `${cmd.id}#${sent}`, fields: cmd.fields, load});
    }
    if (answered === n) finish('complete');
  }
  pump();
}

// --- flood mode: n deliver_sm written without waiting; refused ones re-sent --------------
function runFlood(cmd) {
  const state = pickTarget(cmd, false);
  if (!state) throw new Error('flood: no bound receiver');
  const n = cmd.n;
  const burst = Math.max(1, cmd.burst || 100);
  const retryMs = cmd.retry_ms === undefined ? 20 : cmd.retry_ms;
  const toSend = []; // messages to write (first time, or again after an error)
  for (let i = 1; i <= n; i += 1) toSend.push({index: i, buffer: null});
  let sent = 0;
  let acked = 0;
  let throttled = 0;
  let errors = 0;
  let maxOutstanding = 0;
  let finished = false;
  let scheduled = false;
  const started = process.hrtime.bigint();
  function encode(message) {
    const fields = Object.assign({}, cmd.fields);
    if (cmd.numbered) {
      const text = Buffer.from(fields.short_message || '', 'hex').toString('latin1');
      fields.short_message = Buffer.from(`${text} ${message.index}`, 'latin1').toString('hex');
    }
    const options = buildDeliverOptions(fields);
    options.sequence_number = 1;
    return encodeWithRawTlvs(new smpp.PDU('deliver_sm', options), fields.tlvs || []);
  }
  const flood = {
    onResp(message, status) {
      if (status === ESME_ROK) {
        acked += 1;
        if (acked === n) finish('complete');
        return;
      }
      if (status === ESME_RTHROTTLED) throttled += 1;
      else errors += 1;
      setTimeout(() => {
        toSend.push(message.flood);
        schedule();
      }, retryMs);
    },
    onLost() {
      finish('connection closed');
    },
  };
  function finish(reason) {
    if (finished) return;
    finished = true;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    emit('flood_done', {
      id: cmd.id, n, acked, throttled, errors, sent, seconds, rate: acked / seconds,
      max_outstanding: maxOutstanding, reason,
    });
  }
  function schedule() {
    if (!scheduled && !finished) {
      scheduled = true;
      setImmediate(pump);
    }
  }
  function pump() {
    scheduled = false;
    if (finished) return;
    for (let k = 0; k < burst && toSend.length; k += 1) {
      const message = toSend.shift();
      if (!message.buffer) message.buffer = encode(message);
      const seq = nextSequence();
      const buffer = Buffer.from(message.buffer);
      buffer.writeUInt32BE(seq, 12);
      if (!writeRaw(state, buffer)) return finish('connection closed');
      state.outstanding.set(seq, {id: `${cmd.id}#${message.index}`, flood: message,
        sentAt: process.hrtime.bigint(), load: flood});
      count('deliver_sm');
      sent += 1;
    }
    maxOutstanding = Math.max(maxOutstanding, state.outstanding.size);
    if (toSend.length) schedule(); // the next burst after what else is waiting (stdin, reads)
  }
  pump();
}

// --- commands ---------------------------------------------------------------------------
const commands = {
  deliver(cmd) {
    const state = pickTarget(cmd, false);
    if (!state || !canReceive(state)) throw new Error('deliver: no session bound to receive');
    const seq = sendDeliver(state, {id: cmd.id, fields: cmd.fields || {}});
    emit('sent', {id: cmd.id, seq, conn: state.conn});
  },
  raw(cmd) {
    const state = pickTarget(cmd, true);
    if (!state || !writeRaw(state, Buffer.from(cmd.hex, 'hex'))) {
      throw new Error('raw: no open connection');
    }
    count('raw');
    emit('sent', {id: cmd.id, conn: state.conn, octets: cmd.hex.length / 2});
  },
  drop(cmd) {
    const targets = cmd.conn !== undefined ?
      [connections.get(cmd.conn)].filter(Boolean) : [...connections.values()];
    for (const state of targets) state.session.socket.destroy();
    emit('dropped', {id: cmd.id, conns: targets.map((s) => s.conn)});
  },
  unbind(cmd) {
    const state = pickTarget(cmd, false);
    if (!state) throw new Error('unbind: no bound session');
    const seq = nextSequence();
    state.session.send(new smpp.PDU('unbind', {sequence_number: seq}));
    emit('sent', {id: cmd.id, seq, conn: state.conn});
  },
  enquire(cmd) {
    const state = pickTarget(cmd, true);
    if (!state) throw new Error('enquire: no open connection');
    const seq = nextSequence();
    state.session.send(new smpp.PDU('enquire_link', {sequence_number: seq}));
    emit('sent', {id: cmd.id, seq, conn: state.conn});
  },
  set(cmd) {
    if (cmd.password !== undefined) config.password = cmd.password;
    for (const key of Object.keys(knobs)) {
      if (cmd[key] !== undefined) knobs[key] = cmd[key];
    }
    if (cmd.submit_error_status && cmd.submit_error_count === undefined) {
      knobs.submit_error_count = 1;
    }
    for (const key of ['redeliver_on_rebind', 'allow_second_bind']) {
      if (cmd[key] !== undefined) config[key] = cmd[key];
    }
    emit('ok', {id: cmd.id});
  },
  stats(cmd) {
    let outstanding = 0;
    for (const state of connections.values()) outstanding += state.outstanding.size;
    emit('stats', {
      id: cmd.id, counts, outstanding, connections: connections.size,
      bound: [...connections.values()].filter((s) => s.boundAs).length,
      pending_redelivery: unackedFromClosedSessions.length,
    });
  },
  load(cmd) {
    runLoad(cmd);
  },
  flood(cmd) {
    runFlood(cmd);
  },
  stop(cmd) {
    emit('ok', {id: cmd.id});
    shutdown();
  },
};

function shutdown() {
  for (const state of connections.values()) state.session.socket.destroy();
  server.close();
  // let stdout drain before leaving
  process.stdout.write('', () => process.exit(0));
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    const handler = commands[cmd.cmd];
    if (!handler) throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
    handler(cmd);
  } catch (error) {
    emit('error', {id: cmd && cmd.id, command: cmd && cmd.cmd, message: String(error.message)});
  }
}).on('close', shutdown); // the driver closing our stdin (or dying) ends the SMSC

server.on('error', (error) => {
  emit('error', {message: String(error.message)});
  process.exit(1);
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  emit('listening', {port: server.address().port});
});
