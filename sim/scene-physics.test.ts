import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/core/errors.js';
import { listScenes, loadScene } from './registry.js';
import { SCENES_DIR } from './scene.js';

/** Scenes that parse field by field but make no physical sense are refused, with `file: path: reason`. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'embody-scene-physics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- scene JSON mutated freely
function errorFor(base: string, mutate: (s: any) => void): string {
  const s = JSON.parse(readFileSync(path.join(SCENES_DIR, `${base}.json`), 'utf8'));
  mutate(s);
  const file = path.join(dir, `m${n++}.json`);
  writeFileSync(file, JSON.stringify(s));
  try {
    loadScene(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error(`${base}: the mutated scene was accepted`);
}

const cases: [string, string, (s: any) => void, RegExp][] = [
  // Rates
  ['uav-small', 'controlHz above physicsHz', (s) => (s.controlHz = 200), /m\d+\.json: controlHz: expected at most physicsHz \(100\)/],
  ['nav-apartment', 'controlHz above physicsHz', (s) => (s.controlHz = 61), /: controlHz: expected at most physicsHz \(60\)/],
  ['manip-clutter', 'contactHz above physicsHz', (s) => (s.contactHz = 1000), /: contactHz: expected at most physicsHz/],
  ['uav-small', 'physicsHz absurd', (s) => (s.physicsHz = 1e7), /: physicsHz: expected at most 10000 Hz/],
  // Magnitudes
  ['uav-small', 'maxSpeed 1e308', (s) => (s.uav.maxSpeed = 1e308), /: uav\.maxSpeed: expected a number <= 1000000/],
  ['uav-small', 'maxSpeed 500 m/s', (s) => (s.uav.maxSpeed = 500), /: uav\.maxSpeed: expected at most 100 m\/s/],
  ['uav-small', 'radius 1e6', (s) => (s.uav.radius = 1e6), /: uav\.radius: expected at most 20 m/],
  ['uav-small', 'radius larger than half the area', (s) => (s.area.size = [30, 30]) && (s.uav.start = [10, 10, 10]) && (s.devices = [{ position: [5, 5], dataMbit: 1 }]) && (s.uav.radius = 16), /: uav\.radius: expected less than half the area's side \(15 m\)/],
  ['uav-small', 'minSnrDb 1e308', (s) => (s.channel = { ...s.channel, minSnrDb: 1e308 }), /: channel\.minSnrDb: /],
  ['uav-small', 'minSnrDb 500 dB', (s) => (s.channel = { ...s.channel, minSnrDb: 500 }), /: channel\.minSnrDb: expected a level in \[-50, 100\] dB/],
  ['uav-small', 'beta0Db above 0 dB', (s) => (s.channel = { ...s.channel, beta0Db: 30 }), /: channel\.beta0Db: expected a level in \[-200, 0\] dB/],
  ['uav-small', 'a wind of 300 m/s', (s) => (s.wind = { mean: [300, 0, 0] }), /: wind\.mean: expected a wind speed of at most 50 m\/s/],
  ['nav-apartment', 'robot maxSpeed 1e308', (s) => (s.robot = { ...s.robot, maxSpeed: 1e308 }), /: robot\.maxSpeed: /],
  ['manip-clutter', 'gripper speed 1e9', (s) => (s.gripper = { ...s.gripper, speed: 1e9 }), /: gripper\.speed: /],
  ['manip-clutter', 'a target larger than the workspace', (s) => (s.target = { size: [1, 1, 1] }), /: target\.size\[0\]: expected at most half the workspace/],
  // Positions
  ['uav-small', 'start outside the area', (s) => (s.uav.start = [-50, 20, 30]), /: uav\.start: \[-50, 20\] lies outside the area \[0, 200\] × \[0, 200\]/],
  ['uav-small', 'start below the ground', (s) => (s.uav.start = [20, 20, -5]), /: uav\.start\[2\]: -5 is below the ground \(z = 0\)/],
  ['uav-small', 'start above maxAltitude', (s) => (s.uav.start = [20, 20, 500]), /: uav\.start\[2\]: 500 is above area\.maxAltitude/],
  ['uav-small', 'a device at 1e9 m', (s) => (s.devices[2].position = [1e9, 10]), /: devices\[2\]\.position\[0\]: expected a number <= 1000000/],
  ['uav-small', 'a device outside the area', (s) => (s.devices[2].position = [5000, 10]), /: devices\[2\]\.position: \[5000, 10\] lies outside the area/],
  ['nav-apartment', 'a place outside the area', (s) => (s.places[0].position = [50, 1]), /: places\[0\]\.position: \[50, 1\] lies outside the area/],
  ['nav-apartment', 'a wall outside the area', (s) => (s.walls.segments[0].to = [-3, 0]), /: walls\.segments\[0\]\.to: \[-3, 0\] lies outside the area/],
  // Orderings
  ['uav-small', 'cruiseAltitude above maxAltitude', (s) => (s.uav.cruiseAltitude = 1000), /: uav\.cruiseAltitude: expected at most area\.maxAltitude/],
  ['nav-apartment', 'goals.minDistance above maxDistance', (s) => (s.goals = { ...s.goals, minDistance: 9, maxDistance: 2 }), /: goals\.minDistance: expected at most goals\.maxDistance \(2\)/],
  ['manip-clutter', 'clutter count min above max', (s) => (s.clutter = { ...s.clutter, count: [9, 3] }), /: clutter\.count: expected min <= max/],
];

describe('scenes that make physical sense', () => {
  for (const [base, what, mutate, pattern] of cases) {
    it(`${base}: ${what}`, () => expect(errorFor(base, mutate)).toMatch(pattern));
  }

  it('every scene under scenes/ still loads', () => {
    const rows = listScenes();
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const r of rows) expect(r.error, `${r.name}: ${r.error}`).toBeUndefined();
  });
});
