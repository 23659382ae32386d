"""Run an embody policy exported to ONNX (`embody export <dir>`) with numpy and onnxruntime only."""
import sys
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession(sys.argv[1] if len(sys.argv) > 1 else "runs/latest/policy/policy.onnx")
obs_dim = session.get_inputs()[0].shape[1]

def act(observation):
    """One raw observation (the env's order and units) -> the action to send."""
    obs = np.asarray(observation, dtype=np.float32).reshape(1, obs_dim)
    (action,) = session.run(["action"], {"obs": obs})
    return action[0]  # float32 [A] for a Box, an int64 index for a Discrete space

if __name__ == "__main__":  # one observation per stdin line (numbers, space-separated) -> one action per line
    for line in sys.stdin:
        print(" ".join(repr(float(x)) for x in np.atleast_1d(act(line.split()))))
