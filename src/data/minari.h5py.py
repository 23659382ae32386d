"""Reads an embody dataset the way Minari's MinariStorage/HDF5Storage do (minari 0.5,
minari/dataset/minari_storage.py and _storages/hdf5_storage.py) and checks every key and
dtype they use. Prints one JSON report; exits 1 listing the problems. Run with
/usr/bin/python3 (Debian python3-h5py): `python3 minari.h5py.py <data dir> <dataset_id>`."""
import json, sys, pathlib
import h5py, numpy as np

data = pathlib.Path(sys.argv[1])
expect_id = sys.argv[2]
problems = []
def check(ok, what):
    if not ok: problems.append(what)

md = json.load(open(data / "metadata.json"))
# MinariStorage.read / .metadata / update_metadata
check(md.get("data_format") == "hdf5", "data_format != hdf5")
check(md.get("dataset_id") == expect_id, f"dataset_id {md.get('dataset_id')!r} != {expect_id!r}")
for k in ("total_episodes", "total_steps"): check(type(md.get(k)) is int, f"{k} not an int")
for k in ("observation_space", "action_space", "minari_version", "code_permalink", "algorithm_name"): check(isinstance(md.get(k), str), f"{k} not a str")
for k in ("author", "author_email"): check(isinstance(md.get(k), list) and all(isinstance(a, str) for a in md[k]), f"{k} not a list of str")
spaces = {k: json.loads(md[k]) for k in ("observation_space", "action_space")}
env_spec = None
if "env_spec" in md:
    check(isinstance(md["env_spec"], str), "env_spec not a str")
    env_spec = json.loads(md["env_spec"])
    allowed = {"id", "entry_point", "reward_threshold", "nondeterministic", "max_episode_steps", "order_enforce", "disable_env_checker", "kwargs", "additional_wrappers", "vector_entry_point"}
    check(set(env_spec) <= allowed, f"env_spec keys {sorted(set(env_spec) - allowed)} are not EnvSpec fields")
    check(isinstance(env_spec.get("id"), str) and isinstance(env_spec.get("entry_point"), str), "env_spec id/entry_point")

episodes = []
with h5py.File(data / "main_data.hdf5", "r") as f:
    names = sorted((k for k in f.keys() if k.startswith("episode_")), key=lambda k: int(k[8:]))
    check(len(names) == md["total_episodes"], "episode count != total_episodes")
    steps = 0
    for i, name in enumerate(names):
        check(name == f"episode_{i}", f"episodes not numbered 0..n-1 ({name})")
        g = f[name]
        # get_episode_metadata: attrs, seed as int
        for k in ("id", "seed", "total_steps"):
            check(k in g.attrs and g.attrs[k].dtype == np.int64, f"{name}.attrs[{k}] not int64")
        T = int(g.attrs["total_steps"]); steps += T
        # get_episodes: observations/actions decoded per space, rewards/terminations/truncations [:]
        obs, act = g["observations"], g["actions"]
        ob_space, ac_space = spaces["observation_space"], spaces["action_space"]
        check(obs.dtype == np.float32 and obs.shape == (T + 1, *ob_space["shape"]), f"{name}/observations {obs.dtype} {obs.shape}")
        if ac_space["type"] == "Discrete":
            check(act.dtype == np.int64 and act.shape == (T,), f"{name}/actions {act.dtype} {act.shape} for Discrete")
            check(bool(np.all((act[:] >= 0) & (act[:] < ac_space["n"]))), f"{name}/actions out of Discrete range")
        else:
            check(act.dtype == np.float32 and act.shape == (T, *ac_space["shape"]), f"{name}/actions {act.dtype} {act.shape}")
        check(g["rewards"].dtype == np.float64 and g["rewards"].shape == (T,), f"{name}/rewards")
        for k in ("terminations", "truncations"):
            d = g[k][:]
            check(d.dtype in (np.bool_, np.uint8) and d.shape == (T,) and set(np.unique(d).tolist()) <= {0, 1}, f"{name}/{k} {d.dtype}")
        check(T == 0 or bool(g["terminations"][-1] or g["truncations"][-1]), f"{name}: last step neither terminated nor truncated")
        # _add_episode_to_group: Minari extends an episode with dataset.resize, so every leaf is chunked with maxshape (None, ...)
        for k in ("observations", "actions", "rewards", "terminations", "truncations"):
            d = g[k]
            check(d.chunks is not None and d.maxshape[0] is None, f"{name}/{k} not chunked and resizable (chunks {d.chunks}, maxshape {d.maxshape})")
        # _decode_info on the infos group (the layout Minari still reads)
        check(isinstance(g["infos"], h5py.Group) and all(isinstance(v, h5py.Dataset) and v.shape[0] == T + 1 for v in g["infos"].values()), f"{name}/infos")
        episodes.append({"steps": T, "return": float(np.sum(g["rewards"][:])), "terminated": int(np.sum(g["terminations"][:]))})
    check(steps == md["total_steps"], "total_steps != sum of episode steps")

print(json.dumps({"problems": problems, "episodes": episodes, "env_spec": env_spec, "author": md.get("author"), "dtypes": {"terminations": str(h5py.File(data / "main_data.hdf5", "r")["episode_0/terminations"].dtype)}}))
sys.exit(1 if problems else 0)
