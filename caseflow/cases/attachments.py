"""Attachments: type checked by content, size-limited, stored encrypted outside the web root."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import filetype
import sqlalchemy as sa
from flask import current_app

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Attachment, Case, Order, User
from caseflow.security import crypto

ALLOWED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# Extensions a file of each type may keep as typed; any other is replaced by the type's own.
_SUFFIXES = {"application/pdf": {".pdf"}, "image/jpeg": {".jpg", ".jpeg"}, "image/png": {".png"}}


def storage_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip() or "附件"
    return "".join(ch for ch in name if ch.isprintable())[:200]


def name_for(filename: str, mime: str) -> str:
    """The name a file is kept and served under: the uploaded stem with the extension of its detected type.

    A PDF uploaded as ``evil.html`` is ``evil.pdf``: a browser or a desktop never treats it as a page.
    """
    name = _clean_name(filename)
    stem, suffix = os.path.splitext(name)
    if suffix.lower() in _SUFFIXES.get(mime, ()):
        return name
    return f"{stem or '附件'}.{ALLOWED.get(mime, 'bin')}"


def check_upload(data: bytes, filename: str) -> str:
    """The content type of an acceptable upload, or ``InvalidInput`` with the reason."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if not data:
        raise InvalidInput(f"附件“{_clean_name(filename)}”是空文件", field="attachments")
    if len(data) > limit:
        raise InvalidInput(f"附件“{_clean_name(filename)}”超过{limit // (1024 * 1024)}MB", field="attachments")
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ALLOWED:
        raise InvalidInput(f"附件“{_clean_name(filename)}”不是PDF、JPG或PNG文件", field="attachments")
    return kind.mime


def store(case: Case, data: bytes, filename: str, *, order: Order | None = None,
          user: User | None = None) -> Attachment:
    """Check and store one file; the row is added to the session, the file written at once."""
    mime = check_upload(data, filename)
    stored = f"{uuid.uuid4().hex}.{ALLOWED[mime]}"
    path = storage_dir() / stored
    path.write_bytes(crypto.keyring().encrypt_bytes(data))
    path.chmod(0o600)
    att = Attachment(public_id=str(uuid.uuid4()), case=case, order_id=order.id if order else None,
                     uploaded_by_id=user.id if user else None, original_name=name_for(filename, mime),
                     stored_name=stored, content_type=mime, size=len(data),
                     sha256=hashlib.sha256(data).hexdigest())
    db.session.add(att)
    return att


def path_of(att: Attachment) -> Path:
    return storage_dir() / att.stored_name


def read(att: Attachment) -> bytes:
    """The attachment's content, decrypted; a file stored before attachments were encrypted as it is."""
    data = path_of(att).read_bytes()
    keyring = crypto.keyring()
    return keyring.decrypt_bytes(data) if keyring.is_token(data) else data


def reseal_files() -> tuple[int, int]:
    """Re-encrypt every attachment file not under the newest key and suite; (files seen, files re-sealed)."""
    keyring, seen, resealed = crypto.keyring(), 0, 0
    for att in db.session.scalars(sa.select(Attachment).order_by(Attachment.id)):
        path = path_of(att)
        if not path.exists():
            continue
        seen += 1
        data = path.read_bytes()
        if keyring.is_token(data) and keyring.is_current(data):
            continue
        fresh = path.with_suffix(".new")
        fresh.write_bytes(keyring.encrypt_bytes(read(att)))
        fresh.chmod(0o600)
        fresh.replace(path)  # atomic: a reader sees the old file or the new one
        resealed += 1
    return seen, resealed
