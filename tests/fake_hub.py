"""A fake Hugging Face Hub at the HTTP layer: huggingface_hub's own client (``set_client_factory``) talks to an
``httpx`` mock transport that answers the repo, preupload, tree and commit endpoints and records what each commit
would upload. No network; everything above the transport (HfApi, transformers, diffusers, datasets) is real."""

import base64
import json
import re
from contextlib import contextmanager

SHA = "0123456789abcdef0123456789abcdef01234567"
LFS_SUFFIXES = (".parquet", ".safetensors", ".bin", ".png")


class FakeHub:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")
        self.requests = []  # (method, path)
        self.commits = []  # {"repo_id", "repo_type", "files": {path: bytes}}
        self.repos = set()
        self.lfs = {}  # oid -> bytes uploaded through the LFS "basic" transfer

    def handle(self, request):
        import httpx2

        method, path = request.method, request.url.path
        self.requests.append((method, path))

        def reply(status=200, payload=None, headers=None):
            return httpx2.Response(status, json=payload, headers=headers or {}, request=request)

        if method == "POST" and path == "/api/repos/create":
            body = json.loads(request.content)
            repo_type = body.get("type") or "model"
            repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
            self.repos.add((repo_type, repo_id))
            prefix = "" if repo_type == "model" else f"{repo_type}s/"
            return reply(payload={"url": f"{self.endpoint}/{prefix}{repo_id}", "name": repo_id, "id": repo_id})
        if path == "/api/validate-yaml":  # model / dataset card metadata check
            return reply(payload={"errors": [], "warnings": []})
        match = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)/preupload/(.+)", path)
        if match and method == "POST":
            files = json.loads(request.content)["files"]
            return reply(payload={"files": [{"path": f["path"], "shouldIgnore": False,
                                             "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular"}
                                            for f in files]})
        if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
            objects = json.loads(request.content)["objects"]
            return reply(payload={"transfer": "basic", "objects": [
                {"oid": o["oid"], "size": o["size"],
                 "actions": {"upload": {"href": f"{self.endpoint}/fake-lfs-storage/{o['oid']}"}}} for o in objects]})
        if method == "PUT" and path.startswith("/fake-lfs-storage/"):
            self.lfs[path.rsplit("/", 1)[1]] = request.read()
            return reply(payload={})
        match = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)/commit/(.+)", path)
        if match and method == "POST":
            files = {}
            for line in request.content.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "lfsFile":
                    files[item["value"]["path"]] = self.lfs[item["value"]["oid"]]
            self.commits.append({"repo_type": match.group(1)[:-1], "repo_id": match.group(2), "files": files})
            return reply(payload={"commitUrl": f"{self.endpoint}/{match.group(2)}/commit/{SHA}", "commitOid": SHA,
                                  "pullRequestUrl": None})
        match = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)/tree/[^/]+(/.+)?", path)
        if match:  # an empty repository: the root lists nothing, any folder in it is missing
            if match.group(3):
                return reply(404, {"error": "Entry not found"}, headers={"X-Error-Code": "EntryNotFound"})
            return reply(payload=[])
        match = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)/paths-info/.*", path)
        if match:
            return reply(payload=[])
        match = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)(/revision/[^/]+)?", path)
        if match and method == "GET":
            repo_id = match.group(2)
            return reply(payload={"id": repo_id, "sha": SHA, "siblings": [], "private": False,
                                  "lastModified": "2026-01-01T00:00:00.000Z"})
        # file downloads (an existing README.md, ...): the repository is empty
        return reply(404, {"error": "Entry not found"}, headers={"X-Error-Code": "EntryNotFound"})

    def uploaded(self, repo_id: str) -> dict:
        """Every file committed to ``repo_id``: {path: bytes} (LFS files with the bytes sent to LFS storage)."""
        return {path: data for commit in self.commits if commit["repo_id"] == repo_id
                for path, data in commit["files"].items()}


@contextmanager
def fake_hub(monkeypatch):
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    hub = FakeHub(constants.ENDPOINT)
    monkeypatch.setenv("HF_TOKEN", "hf_fake_token_for_tests")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # large files go through the LFS "basic" transfer (over httpx, so the fake sees them), not the Xet protocol,
    # whose Rust client opens its own connections
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    _http.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(hub.handle)))
    _http.close_session()
    try:
        yield hub
    finally:
        _http.set_client_factory(_http.default_client_factory)
        _http.close_session()
