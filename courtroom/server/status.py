"""What the server can and cannot do right now, said plainly at start-up and to the judge."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..paths import PACKAGED_VISION_MODEL, vision_model_path

# Hearing languages a court is expected to use; others are reported when a model is present.
EXPECTED_LANGUAGES = ("zh", "en")


def transcription_status(settings: Settings) -> dict[str, dict[str, Any]]:
    from asr.models import CANDIDATES, ModelRegistry

    registry = ModelRegistry(settings.models_dir, origin=settings.models_dir_origin)
    out: dict[str, dict[str, Any]] = {}
    for language in [*EXPECTED_LANGUAGES, *sorted(set(CANDIDATES) - set(EXPECTED_LANGUAGES))]:
        st = registry.status(language)
        if st.available or language in EXPECTED_LANGUAGES:
            out[language] = {"available": st.available, "message": st.message}
    return out


def discipline_status(settings: Settings) -> dict[str, Any]:
    model = vision_model_path(settings.models_dir)
    if model.is_file():
        where = "packaged" if model == PACKAGED_VISION_MODEL else "override"
        return {
            "available": True,
            "message": (
                "all checks on (left the frame, extra person, phone, identity, loud noise); "
                f"YOLOX model ({where}) at {model}"
            ),
        }
    return {
        "available": False,
        "message": (
            f"YOLOX model not found at {model}: the extra-person and phone checks are OFF; "
            "left the frame, identity and loud noise stay on. Put yolox_nano.onnx there "
            "(see docs/vision.md)"
        ),
    }


def server_status(settings: Settings) -> dict[str, Any]:
    db = settings.effective_database_url.split(":", 1)[0]
    return {
        "models_dir": {"path": str(settings.models_dir), "origin": settings.models_dir_origin},
        "database": db,
        "bus": "redis" if settings.redis_url else "in-process",
        "transcription": transcription_status(settings),
        "discipline": discipline_status(settings),
    }


def startup_lines(status: dict[str, Any]) -> list[str]:
    lines = [f"database: {status['database']}; event bus: {status['bus']}"]
    models = status["models_dir"]
    lines.append(f"models dir: {models['path']} ({models['origin']})")
    for language, st in sorted(status["transcription"].items()):
        if st["available"]:
            lines.append(f"live transcription ({language}): on. {st['message']}")
        else:
            lines.append(f"live transcription ({language}): OFF. {st['message']}")
    watch = status["discipline"]
    lines.append(
        f"discipline watch: {'on' if watch['available'] else 'PARTIAL'}. {watch['message']}"
    )
    return lines
