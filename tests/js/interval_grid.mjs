// The browser's Hb interval (hbInterval, with Mondrian bins) on estimates written by tests/test_uncertainty.py.
// Usage: node interval_grid.mjs CASES.json  ->  [[low, high], ...] as JSON, one per estimate.
import { readFileSync } from 'node:fs';
import { hbInterval } from '../../src/vitalens/webapp/js/hb.js';

const { uncertainty, estimates } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify(estimates.map((hb) => hbInterval(hb, uncertainty))));
