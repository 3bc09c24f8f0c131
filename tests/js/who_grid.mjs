// The browser's WHO 2024 lookup on a grid of inputs written by tests/test_app_parity.py and tests/test_plausibility.py.
// Usage: node who_grid.mjs GRID.json  ->  one answer per grid point, as JSON. A point is [hb, population]
// (interpretHb), [hb, population, low, high] (interpretInterval: the estimate with its interval), or
// [field, estimate, unit] (implausibleEstimate: the refusal's reason, or null); an error is {"error"}.
import { readFileSync } from 'node:fs';
import { implausibleEstimate, interpretHb, interpretInterval } from '../../src/vitalens/webapp/js/who.js';

const { rules, grid } = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function answer([first, second, third, fourth]) {
  if (typeof first === 'string') return implausibleEstimate(rules, first, second, third);
  if (third === undefined) return interpretHb(rules, first, second, '');
  return interpretInterval(rules, first, third, fourth, second, '');
}

console.log(JSON.stringify(grid.map((point) => {
  try {
    return answer(point);
  } catch (error) {
    return { error: error.message };
  }
})));
