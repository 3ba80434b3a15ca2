#!/usr/bin/env node
// Transport reference: an ESME on npm `smpp` (the peer's own package) that binds as a
// receiver and answers every deliver_sm at once with ESME_ROK, storing nothing.
// Usage: SMPP_PASSWORD=... node bench/ackonly.js PORT SYSTEM_ID
'use strict';

const path = require('path');
const smpp = require(require.resolve('smpp', {paths: [path.join(__dirname, '..', 'tests', 'peer')]}));

const port = Number(process.argv[2]);
const systemId = process.argv[3] || 'iys';
const session = smpp.connect({host: '127.0.0.1', port}, () => {
  session.socket.setNoDelay(true);
  session.bind_receiver({system_id: systemId, password: process.env.SMPP_PASSWORD || ''}, (pdu) => {
    if (pdu.command_status !== 0) {
      process.stderr.write(`bind refused: ${pdu.command_status}\n`);
      process.exit(1);
    }
    process.stdout.write('bound\n');
  });
});
session.on('deliver_sm', (pdu) => session.send(pdu.response()));
session.on('enquire_link', (pdu) => session.send(pdu.response()));
session.on('close', () => process.exit(0));
session.on('error', (error) => {
  process.stderr.write(`${error}\n`);
  process.exit(1);
});
