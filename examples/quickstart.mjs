// embody as a library, end to end: make → reset/step → train → loadPolicy → evaluate,
// then a task kind of your own with register(). Run it with `node examples/quickstart.mjs`
// from a project that has embody installed; it prints one JSON object with the figures.
//
//   node examples/quickstart.mjs [runs dir]   (default: ./runs)
import path from 'node:path';
import { Box, Discrete, evaluate, loadPolicy, make, register, train } from 'embody';
import { pointMassTask } from './point-mass.mjs';

const out = process.argv[2] ?? 'runs';
const report = {};

// 1. An env, Gymnasium-style: reset({ seed }) and step(action).
const env = await make('cartpole', { seed: 0 });
const { obs } = env.reset({ seed: 0 });
const step = env.step(1);
report.cartpole = {
  observationSize: obs.length,
  discrete: env.spec.actionSpace instanceof Discrete,
  firstReward: step.reward,
  terminated: step.terminated,
};

// 2. Train PPO for one rollout pair (512 env steps), evaluating after each rollout.
const evals = [];
const run = await train('ppo', env, { steps: 512, evalEvery: 256, evalEpisodes: 2 }, { seed: 0, out, onEval: (e) => evals.push(e.step) });
report.train = { runDir: run.runDir, envSteps: run.envSteps, evals, firstAction: run.policy.controller.act(obs), bestPolicyDir: run.bestPolicyDir };

// 3. Load the artifact again, as any other process would, and evaluate it as SB3's evaluate_policy does.
const policy = await loadPolicy(path.join(run.runDir, 'policy'));
const result = await evaluate(policy, env, { episodes: 3, seed: 0 });
report.evaluate = { meanReturn: result.meanReturn, stdReturn: result.stdReturn, returns: result.returns };
env.close();

// 4. A task kind of your own: register it, then make() reads its scene files.
register(pointMassTask);
const mass = await make(new URL('./point-mass.json', import.meta.url).pathname, { seed: 0 });
const first = mass.reset({ seed: 3 });
let last = first;
for (let i = 0; i < 5; i++) last = mass.step(new Float32Array([1]));
const pushed = await evaluate({ kind: 'push', reset() {}, act: (o) => new Float32Array([Math.sign(o[2])]) }, mass, { episodes: 2, seed: 0 });
report.pointMass = {
  id: mass.spec.id,
  actionIsBox: mass.spec.actionSpace instanceof Box,
  x0: first.obs[0],
  x5: last.obs[0],
  pushReturn: pushed.meanReturn,
};
mass.close();

console.log(JSON.stringify(report));
