// The browser's WHO 2024 lookup on a grid of inputs written by tests/test_app_parity.py.
// Usage: node who_grid.mjs GRID.json  ->  one interpretation (or {"error"}) per grid point, as JSON.
import { readFileSync } from 'node:fs';
import { interpretHb } from '../../src/vitalens/webapp/js/who.js';

const { rules, grid } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify(grid.map(([hb, population]) => {
  try {
    return interpretHb(rules, hb, population, '');
  } catch (error) {
    return { error: error.message };
  }
})));
