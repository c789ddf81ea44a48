#!/usr/bin/env node
// The repository's launcher for `npm start` and the specs: the real bin is the
// rxpeer-signaling package's (packages/rxpeer-signaling/bin/rxpeer-signaling.cjs).
'use strict';
require('../packages/rxpeer-signaling/bin/rxpeer-signaling.cjs');
