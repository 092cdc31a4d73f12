"""load_images end to end: class folders, file lists, dedupe, grayscale, caps, progress,
determinism and thread safety (RELIABILITY.md items 17 and 18 among them)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.config import DataConfig
from gan_core.data.ingest import assign_classes, load_images
from gan_core.data.limits import Limits
from gan_core.errors import DatasetError

CFG = DataConfig(res=16)
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def png(colour, size: int = 24, mode: str = "RGB") -> bytes:
    b = io.BytesIO()
    Image.new(mode, (size, size), colour).save(b, "PNG")
    return b.getvalue()


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            p.mkdir(exist_ok=True)
        else:
            p.write_bytes(data)
    return root


def zip_of(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def pets(shades: bool = True) -> dict[str, bytes]:
    """3 red cats, 2 blue dogs (distinct shades, so no exact duplicates), an empty bird folder."""
    files = {f"mydata/cat/{i}.png": png((255 - i, 0, 0)) for i in range(3)}
    files |= {f"mydata/dog/{i}.png": png((0, 0, 255 - i)) for i in range(2)}
    files["mydata/bird/"] = b""
    return files


def colour_of(images, i: int) -> tuple[int, ...]:
    return tuple(int(v) for v in images.images[i, :, 8, 8])


# classes, item 18 ---------------------------------------------------------------------------


@pytest.mark.parametrize("as_zip", [False, True])
def test_class_folders_give_labels_and_counts_and_the_empty_one_is_reported(tmp_path, as_zip):
    src = zip_of(tmp_path / "pets.zip", pets()) if as_zip else tree(tmp_path / "pets", pets())
    images, report = load_images(src, CFG)
    assert images.class_names == ["cat", "dog"]  # "mydata" only wraps the set
    assert report.classes == {"cat": 3, "dog": 2}
    assert report.empty_classes == ["bird"]
    assert images.labels.tolist() == [0, 0, 0, 1, 1]
    for i, label in enumerate(images.labels):
        r, _, b = colour_of(images, i)
        assert (r > 200 and b < 10) if label == 0 else (b > 200 and r < 10)


def test_a_class_folder_whose_files_are_all_unusable_is_reported_empty(tmp_path):
    src = tree(tmp_path / "set", {"cat/a.png": png(RED), "cat/b.png": png((250, 0, 0)), "dog/notes.txt": b"woof"})
    images, report = load_images(src, CFG)
    assert report.classes == {"cat": 2}
    assert report.empty_classes == ["dog"]
    assert "dog/notes.txt" in report.skipped


def test_a_flat_set_is_one_class(tmp_path):
    images, report = load_images(tree(tmp_path / "flat", {"a.png": png(RED), "b.png": png(BLUE)}), CFG)
    assert images.class_names == ["all"] and images.labels.tolist() == [0, 0]


def test_a_flat_set_inside_a_wrapper_folder_is_one_class_named_after_it(tmp_path):
    z = zip_of(tmp_path / "f.zip", {"faces/a.png": png(RED), "faces/b.png": png(BLUE)})
    images, report = load_images(z, CFG)
    assert report.classes == {"faces": 2}


def test_deeper_folders_merge_into_their_class(tmp_path):
    src = tree(tmp_path / "s", {"cat/kitten/a.png": png(RED), "cat/b.png": png((200, 0, 0)), "dog/c.png": png(BLUE)})
    _, report = load_images(src, CFG)
    assert report.classes == {"cat": 2, "dog": 1}


def test_images_beside_class_folders_form_their_own_class_with_a_note(tmp_path):
    src = tree(tmp_path / "s", {"top.png": png(GREEN), "cat/a.png": png(RED), "dog/b.png": png(BLUE)})
    images, report = load_images(src, CFG)
    assert report.classes == {"all": 1, "cat": 1, "dog": 1}
    assert any("beside the class folders" in n for n in report.notes)


def test_assign_classes_strips_every_wrapping_level():
    labels, names, empty, _ = assign_classes([("home", "me", "data", "a"), ("home", "me", "data", "b")],
                                             {("home",), ("home", "me"), ("home", "me", "data")})
    assert names == ["a", "b"] and labels.tolist() == [0, 1] and empty == []


# sources --------------------------------------------------------------------------------------


def test_a_browser_file_list_with_relative_names_gives_classes(tmp_path):
    paths = []
    for i, (name, colour) in enumerate([("cat/1.png", RED), ("cat/2.png", (250, 0, 0)), ("dog/1.png", BLUE)]):
        p = tmp_path / f"upload_{i}"  # what a web framework stores: random names, no folders
        p.write_bytes(png(colour))
        paths.append((p, name))
    images, report = load_images(paths, CFG)
    assert report.classes == {"cat": 2, "dog": 1}


def test_a_file_list_holding_one_zip_reads_the_zip(tmp_path):
    z = zip_of(tmp_path / "upload.zip", pets())
    _, report = load_images([z], CFG)
    assert report.source == "upload.zip" and report.classes == {"cat": 3, "dog": 2}


def test_a_zip_mixed_with_images_is_refused_with_what_to_do(tmp_path):
    z = zip_of(tmp_path / "a.zip", {"x.png": png(RED)})
    img = tmp_path / "b.png"
    img.write_bytes(png(BLUE))
    with pytest.raises(DatasetError, match="upload either one zip or image files, not both"):
        load_images([z, img], CFG)


def test_tar_archives_are_refused(tmp_path):
    t = tmp_path / "set.tar"
    with tarfile.open(t, "w") as tf:
        data = png(RED)
        info = tarfile.TarInfo("a.png")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(DatasetError, match=r"set\.tar: tar archives are not supported; upload a \.zip"):
        load_images(t, CFG)


def test_a_missing_path_says_so(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_images(tmp_path / "nope", CFG)


def test_an_empty_folder_says_it_holds_no_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="it holds no files"):
        load_images(tmp_path / "empty", CFG)


def test_links_and_fifos_in_a_folder_are_skipped_without_reading(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png(GREEN))
    src = tree(tmp_path / "set", {"ok.png": png(RED)})
    os.symlink(outside, src / "link.png")
    os.mkfifo(src / "pipe.png")  # reading it would block forever
    _, report = load_images(src, CFG)
    assert report.images_used == 1
    assert report.skipped == {"link.png": "symbolic link: not followed", "pipe.png": "not a regular file"}


def test_folder_total_bytes_and_entry_caps_refuse_the_whole_set(tmp_path):
    src = tree(tmp_path / "set", {f"{i}.png": png((i, 0, 0), size=64) for i in range(10)})
    with pytest.raises(DatasetError, match="files add up to more than"):
        load_images(src, CFG, limits=Limits(max_total_bytes=600))
    with pytest.raises(DatasetError, match="more than 5 files and folders"):
        load_images(src, CFG, limits=Limits(max_entries=5))


# item 17 ------------------------------------------------------------------------------------


def test_one_image_is_a_usable_set_with_advice(tmp_path):
    p = tmp_path / "only.png"
    p.write_bytes(png(RED))
    images, report = load_images(p, CFG)
    assert images.images.shape == (1, 3, 16, 16) and images.images.dtype == np.uint8
    assert images.labels.dtype == np.int64 and images.labels.tolist() == [0]
    assert any("only 1 image:" in n for n in report.notes)


# dedupe, grayscale, cap -----------------------------------------------------------------------


def test_exact_duplicates_are_dropped_and_reported(tmp_path):
    src = tree(tmp_path / "s", {"a.png": png(RED), "copy.png": png(RED), "b.png": png(BLUE)})
    images, report = load_images(src, CFG)
    assert report.images_used == 2 and report.duplicates == {"copy.png": "a.png"}
    kept, _ = load_images(src, DataConfig(res=16, dedupe=False))
    assert len(kept) == 3


def test_an_all_grayscale_set_keeps_one_channel(tmp_path):
    src = tree(tmp_path / "g", {"a.png": png(80, mode="L"), "b.png": png((90, 90, 90)), "c.png": png((100, 255), mode="LA")})
    images, report = load_images(src, CFG)
    assert images.channels == 1 and report.channels == 1
    assert sorted(images.images[:, 0, 8, 8].tolist()) == [80, 90, 100]
    forced, _ = load_images(src, DataConfig(res=16, grayscale="rgb"))
    assert forced.channels == 3


def test_one_colour_image_makes_the_set_rgb(tmp_path):
    src = tree(tmp_path / "m", {"a.png": png(80, mode="L"), "b.png": png(RED)})
    images, _ = load_images(src, CFG)
    assert images.channels == 3
    assert sorted(map(tuple, images.images[:, :, 8, 8].tolist())) == [(80, 80, 80), (255, 0, 0)]


def test_max_images_caps_the_set_and_says_so(tmp_path):
    src = tree(tmp_path / "s", {f"{i:02d}.png": png((i * 20, 0, 0)) for i in range(10)})
    images, report = load_images(src, DataConfig(res=16, max_images=4))
    assert len(images) == 4
    assert images.images[:, 0, 8, 8].tolist() == [0, 20, 40, 60]  # the first four, in name order
    assert any("only the first 4 images were used (max_images); 6 more files were not read" in n for n in report.notes)


# progress, determinism, threads -------------------------------------------------------------


def test_progress_reports_from_zero_to_total(tmp_path):
    src = tree(tmp_path / "s", {f"{i}.png": png((i, 0, 0)) for i in range(7)})
    calls: list[tuple[int, int]] = []
    load_images(src, CFG, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 7) and calls[-1] == (7, 7)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_raising_from_progress_cancels_and_leaves_no_threads(tmp_path):
    src = tree(tmp_path / "s", {f"{i}.png": png((i, 0, 0)) for i in range(50)})
    threads_before = threading.active_count()

    def cancel(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        load_images(src, CFG, workers=2, progress=cancel)
    assert threading.active_count() == threads_before


def _summary(images, report) -> tuple:
    d = report.to_dict()
    d.pop("seconds")
    return images.images.tobytes(), images.labels.tolist(), images.class_names, d


def test_the_result_does_not_depend_on_the_number_of_workers(tmp_path):
    rng = np.random.default_rng(0)
    files = {f"c{k}/{i}.png": png(tuple(int(v) for v in rng.integers(0, 256, 3))) for k in range(3) for i in range(8)}
    files["c1/bad.png"] = b"junk"
    src = tree(tmp_path / "s", files)
    assert _summary(*load_images(src, CFG, workers=1)) == _summary(*load_images(src, CFG, workers=3))


def test_concurrent_jobs_do_not_interfere(tmp_path):
    a = tree(tmp_path / "a", {f"x/{i}.png": png((i, 0, 0)) for i in range(12)} | {"y/0.png": png(BLUE)})
    b = zip_of(tmp_path / "b.zip", {f"{i}.png": png((0, i, 0), mode="RGB") for i in range(9)})
    expected = {"a": _summary(*load_images(a, CFG)), "b": _summary(*load_images(b, CFG))}
    results: dict[str, list] = {"a": [], "b": []}

    def job(key: str, src: Path) -> None:
        for _ in range(3):
            results[key].append(_summary(*load_images(src, CFG, workers=2)))

    threads = [threading.Thread(target=job, args=("a", a)), threading.Thread(target=job, args=("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected["a"] for r in results["a"]) and len(results["a"]) == 3
    assert all(r == expected["b"] for r in results["b"]) and len(results["b"]) == 3


# report ----------------------------------------------------------------------------------------


def test_report_prints_as_text_and_json_with_display_names(tmp_path):
    src = tree(tmp_path / "s", {"cat/a.png": png(RED, size=40), "cat/b.png": png((200, 0, 0), size=20),
                                "dog/c.png": png(BLUE), "dog/broken.png": b"\x89PNG\r\n\x1a\n..."})
    _, report = load_images(src, CFG)
    d = json.loads(report.to_json())
    assert d["images_used"] == 3 and d["classes"] == {"cat": 2, "dog": 1}
    assert list(d["skipped"]) == ["dog/broken.png"]
    assert d["smallest"] == [20, 20] and d["largest"] == [40, 40] and d["usable"] is True
    text = report.to_text()
    assert "images used: 3" in text and "dog/broken.png: corrupt PNG" in text and "cat: 2" in text
