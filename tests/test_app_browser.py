"""The web app in a real browser: Debian's Chromium driven by Playwright (no browser download), the app served on a
free port with tiny saved models. Each tab gets a real corpus clip (or none, for sampling), runs, and must return
audio of the right duration, a rendered spectrogram picture and its metrics; bad uploads give a message in the page
and the server keeps serving."""

import io
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("gradio")
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (make setup installs it)", allow_module_level=True)
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CLIP_SECONDS = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def files(real_track, tmp_path_factory):
    """A 3 s real corpus clip (44.1 kHz stereo), a corrupt file, a silent one, a too-short and a too-long one."""
    from audiogen_hf.audio import load_audio, save_audio

    root = tmp_path_factory.mktemp("uploads")
    audio, rate = load_audio(real_track / "mixture.wav", offset=4.0, duration=CLIP_SECONDS)
    (root / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    sf.write(root / "silent.wav", np.zeros(22050, dtype=np.float32), 22050)
    sf.write(root / "short.wav", 0.5 * np.sin(np.arange(2000, dtype=np.float32)), 22050)
    sf.write(root / "long.wav", 0.1 * np.sin(np.arange(8000 * 130, dtype=np.float32) * 0.05), 8000, "PCM_16")
    return {"clip": save_audio(root / "clip.wav", audio, rate), "corrupt": root / "corrupt.wav",
            "silent": root / "silent.wav", "short": root / "short.wav", "long": root / "long.wav"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, corpus_dir):
    from tiny_pipelines import save_tiny_autoencoder, save_tiny_codec, save_tiny_diffusion, save_tiny_jam

    from audiogen_hf.cli.app import MAX_FILE_SIZE, build_app, find_examples
    from audiogen_hf.utils.hub_utils import load_pipeline

    root = tmp_path_factory.mktemp("app_models")
    pipelines = {"jam": load_pipeline(save_tiny_jam(root / "jam")),
                 "vae": load_pipeline(save_tiny_autoencoder(root / "vae")),
                 "codec": load_pipeline(save_tiny_codec(root / "codec")),
                 "diffusion": load_pipeline(save_tiny_diffusion(root / "diffusion"))}
    app = build_app(pipelines, find_examples(corpus_dir), output_dir=root / "outputs")
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
               max_file_size=MAX_FILE_SIZE)
    try:
        yield f"http://127.0.0.1:{port}/", pipelines
    finally:
        app.close()
    with pytest.raises(OSError):  # shut down: nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.fixture(scope="module")
def page(server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})  # every tab in one row
        page.set_default_timeout(60_000)
        page.goto(server[0])
        page.wait_for_selector("#run-0")
        yield page
        browser.close()


def run_tab(page, index: int, title: str, upload=None) -> str:
    """Open tab ``title``, upload a file (if given), click Run; returns the status line once it has changed."""
    page.get_by_role("tab", name=title).click()
    status = page.locator(f"#status-{index}")
    before = status.inner_text()
    if upload is not None:
        clear = page.locator(f"#input-{index} button[aria-label='Clear']")
        if clear.count():  # a previous upload: remove it first
            clear.first.click()
        with page.expect_response(lambda r: "/upload" in r.url and r.request.method == "POST"):
            page.locator(f"#input-{index} input[type=file]").set_input_files(str(upload))
        page.wait_for_timeout(500)  # the component takes the uploaded file's path
    page.click(f"#run-{index}")
    page.wait_for_function(
        "([id, before]) => { const t = document.querySelector(id).innerText; return t && t !== before &&"
        " (t.startsWith('Done') || t.startsWith('Error')); }", arg=[f"#status-{index}", before])
    return status.inner_text()


def output_audio(page, index: int):
    href = page.locator(f"#output-{index} a.download-link").get_attribute("href")
    response = page.request.get(href)
    assert response.ok
    return sf.read(io.BytesIO(response.body()))


def picture_width(page, index: int) -> int:
    image = page.locator(f"#picture-{index} img")
    image.wait_for()
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle())
    return image.evaluate("el => el.naturalWidth")


def test_every_tab_returns_audio_a_picture_and_metrics(page, server, files):
    tabs = [t.inner_text() for t in page.get_by_role("tab").all()]
    assert tabs == ["Jam continuation (jam)", "Autoencoder reconstruction (vae)", "Autoencoder samples (vae)",
                    "Neural codec (codec)", "Genre music (diffusion)",
                    "Music variations (diffusion)", "Spectrogram images"]
    jam, vae = server[1]["jam"], server[1]["vae"]

    assert run_tab(page, 0, tabs[0], files["clip"]).startswith("Done")
    audio, rate = output_audio(page, 0)
    hop = jam.converter.config.hop_length
    assert rate == 8000 and abs(len(audio) - (CLIP_SECONDS * rate + np.ceil(5.0 * rate / hop) * hop)) <= hop
    assert picture_width(page, 0) > 200
    assert "continuation_seconds" in page.locator("#metrics-0").inner_text()

    assert run_tab(page, 1, tabs[1], files["clip"]).startswith("Done")
    audio, rate = output_audio(page, 1)
    assert rate == 8000 and len(audio) == CLIP_SECONDS * rate  # same length as the upload
    assert picture_width(page, 1) > 200
    assert "spectral_convergence_db" in page.locator("#metrics-1").inner_text()

    assert run_tab(page, 2, tabs[2]).startswith("Done")
    audio, rate = output_audio(page, 2)
    frames = vae.model.spectrogram_shape[1]
    assert rate == 8000 and len(audio) == (frames - 1) * vae.converter.config.hop_length
    assert picture_width(page, 2) > 200

    assert run_tab(page, 3, tabs[3], files["clip"]).startswith("Done")
    audio, rate = output_audio(page, 3)
    assert rate == 22050 and len(audio) == CLIP_SECONDS * rate  # the codec's rate, the input's length
    assert picture_width(page, 3) > 200
    assert "bitrate_kbps" in page.locator("#metrics-3").inner_text()

    diffusion_clip = 31 * server[1]["diffusion"].converter.config.hop_length  # (frames - 1) hops
    assert run_tab(page, 4, tabs[4]).startswith("Done")  # every genre in turn, 50 DDIM steps
    audio, rate = output_audio(page, 4)
    assert rate == 22050 and len(audio) == diffusion_clip
    assert picture_width(page, 4) > 200
    assert "known_genres" in page.locator("#metrics-4").inner_text()

    assert run_tab(page, 5, tabs[5], files["clip"]).startswith("Done")  # a variation of the upload's opening
    audio, rate = output_audio(page, 5)
    assert rate == 22050 and len(audio) == diffusion_clip
    assert picture_width(page, 5) > 200
    assert "strength" in page.locator("#metrics-5").inner_text()

    assert run_tab(page, 6, tabs[6], files["clip"]).startswith("Done")
    audio, rate = output_audio(page, 6)
    assert rate == 44100 and abs(len(audio) / rate - CLIP_SECONDS) < 1e-3
    assert picture_width(page, 6) > 200
    metrics = page.locator("#metrics-6").inner_text()
    assert "average_psnr_db" in metrics and "bpm" in metrics and "caption" in metrics


def test_bad_uploads_show_a_message_and_the_server_keeps_serving(page, files):
    title = "Jam continuation (jam)"
    for name, message in (("corrupt", "not a readable audio file"), ("silent", "is silent"),
                          ("short", "at least 0.5 s"), ("long", "the limit is 120 s")):
        status = run_tab(page, 0, title, files[name])
        assert status.startswith("Error") and message in status, (name, status)
    status = run_tab(page, 0, title, files["clip"])  # still serving
    assert status.startswith("Done")
