"""Passwords on command lines, where the flag alone does not say it (part of Kitemark's redaction policy,
``kitemark.core.redaction``): the program decides what a flag means.

- MySQL and MariaDB clients: ``-pX`` (glued). ``-p X`` prompts for the password, and ``X`` is the
  database, so it is kept;
- ``sshpass``, the MongoDB tools and ``<tool> login`` (docker, podman, helm...): ``-p X`` and ``-pX``;
- ``redis-cli``: ``-a X`` and ``-aX``;
- any program: ``-u user:password``, ``--user``, ``-U``/``--proxy-user`` (curl), the password only, except
  under docker, podman and nerdctl (``-u app:app`` is a user and a group) and for ``1000:1000`` (ids).

Both in text (``sh -c "sshpass -p x ssh host"``: the program is named in the same command, the text
between ``;``, ``&``, ``|`` and line ends) and in argument lists, read as a sequence
(``["sshpass", "-p", "x"]``, and a container's ``args`` under the ``command`` or image that runs them).
Flags named like a credential (``--password X``, ``--token X``, ``-storepass X``) are redacted by the
general rules, whatever the program.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from kitemark.core.credential_names import is_credential_name

Mask = Callable[[str], str]

_FAMILIES = {
    "mysql": "mysql mysqldump mysqladmin mysqlimport mysqlcheck mysqlshow mysqlpump mysqlsh mariadb "
    "mariadb-dump mariadb-admin mariadb-import mariadb-check",
    "mongo": "mongo mongosh mongodump mongorestore mongoexport mongoimport mongostat mongotop mongofiles",
    "sshpass": "sshpass",
    "redis": "redis-cli keydb-cli",
    "login": "login",
    "docker": "docker podman nerdctl",
}
TOOL_FAMILIES = {tool: family for family, tools in _FAMILIES.items() for tool in tools.split()}
# A container's image runs its args when it has no command of its own: `mysql:8.0` with `["-pX"]`.
IMAGE_FAMILIES = {"mysql": "mysql", "mariadb": "mysql", "percona": "mysql", "mongo": "mongo"}
SEPARATE_P = frozenset({"mongo", "sshpass", "login"})  # `-p X`: X is the password
USER_FLAGS = frozenset({"-u", "-U", "--user", "--proxy-user"})

_TOOL_NAMES = "|".join(sorted(map(re.escape, TOOL_FAMILIES), key=len, reverse=True))
_TOOLS = re.compile(rf"(?<![\w.-])(?P<tool>{_TOOL_NAMES})(?![\w.-])")
_ARG = r"""[^\s"'`;&|]"""
# A quoted argument, within its line (`-p"x y"`, `-p 'x'`): an unclosed quote fails once per quote
# character, since every later one would close it, so the scan stays linear.
QUOTED_ARG = r"""(?:"[^"\n]*"|'[^'\n]*')"""
_SHORT_FLAG = re.compile(
    rf"(?<=[ \t])-(?P<flag>[pa])(?:(?P<glued>{_ARG}+|{QUOTED_ARG})"
    rf"|[ \t]+(?P<next>[^\s\"'`;&|-]{_ARG}*|{QUOTED_ARG}))"
)
_USER_HINT = re.compile(r"[ \t](?:-[uU]|--user|--proxy-user)[ \t=]")
_COMMAND = re.compile(r"[^\n;&|]+")
_USER_FLAG = re.compile(
    r"""(?<=[ \t])(?:-[uU]|--user|--proxy-user)(?:[ \t]+|=)(?P<q>["'])?(?P<user>[^\s:"'`]+):"""
    r"""(?P<val>(?(q)[^"'\n]+|[^\s"'`;&|]+))"""
)


def redact_flags(text: str, mask: Mask) -> str:
    """``text`` (a shell line or script) with the passwords of the flags above masked, command by
    command (the text between ``;``, ``&``, ``|`` and line ends): the program is named in its command."""
    if _TOOLS.search(text) is None and _USER_HINT.search(text) is None:
        return text
    return _COMMAND.sub(lambda m: _command(m[0], mask), text)


def _command(command: str, mask: Mask) -> str:
    if "-" not in command:
        return command
    tools = {TOOL_FAMILIES[m["tool"]] for m in _TOOLS.finditer(command)}
    if tools:
        command = _SHORT_FLAG.sub(lambda m: _short_flag(m, tools, mask), command)
    if "docker" not in tools and _USER_HINT.search(command) is not None:
        command = _USER_FLAG.sub(lambda m: _user_flag(m, mask), command)
    return command


def _short_flag(m: re.Match[str], tools: set[str], mask: Mask) -> str:
    if m["flag"] == "p" and "mysql" in tools and m["glued"]:
        return m[0][:2] + mask_argument(m["glued"], mask)
    if (m["flag"] == "p" and tools & SEPARATE_P) or (m["flag"] == "a" and "redis" in tools):
        value = m["glued"] or m["next"]
        return m[0][: len(m[0]) - len(value)] + mask_argument(value, mask)
    return m[0]


def _user_flag(m: re.Match[str], mask: Mask) -> str:
    if _is_ids(m["user"], m["val"]):
        return m[0]
    return m[0][: m.start("val") - m.start()] + mask_argument(m["val"], mask)


def _is_ids(user: str, password: str) -> bool:
    return user.isdigit() and password.isdigit()


def mask_argument(value: str, mask: Mask) -> str:
    """A password given as an argument: ``pass:x`` (openssl) keeps its ``pass:``; a marker stays; a quoted
    argument keeps its quotes."""
    if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
        return value[0] + mask_argument(value[1:-1], mask) + value[0] if len(value) > 2 else value
    if value.startswith("<redacted"):
        return value
    if value[:5].lower() == "pass:" and len(value) > 5:
        return value[:5] + mask(value[5:])
    return mask(value)


def families(words: Iterable[object], image: object = None) -> frozenset[str]:
    """The program families among ``words`` (a command and its args) and the ``image`` that runs them."""
    found = {TOOL_FAMILIES.get(w.rsplit("/", 1)[-1]) for w in words if isinstance(w, str) and w[:1] != "-"}
    if isinstance(image, str):
        found.add(IMAGE_FAMILIES.get(image.partition("@")[0].rsplit("/", 1)[-1].partition(":")[0]))
    return frozenset(f for f in found if f is not None)


def redact_argv(args: list[Any], tools: frozenset[str], mask: Mask, each: Callable[[Any], Any]) -> list[Any]:
    """An argument list read as a sequence: a password in the argument after its flag (``--password X``,
    ``-p X`` for ``tools`` that take it so, ``-u user:X``) or glued to it (``-pX``) is masked; every other
    argument goes through ``each`` (the caller's redaction of free text)."""
    out: list[Any] = []
    expect = ""  # what the next argument is: "" (nothing special), "whole" or "userinfo"
    for word in args:
        if type(word) is not str:
            out.append(each(word))
            expect = ""
        elif (expect == "whole" and word) or (expect and word and (word[0] != "-" or word == "-")):
            # a password's flag takes the next argument whatever it starts with (`--password -x`)
            out.append(mask_argument(word, mask) if expect == "whole" else _userinfo(word, mask, each))
            expect = ""
        else:
            expect, replaced = _flag(word, tools, mask, each)
            out.append(each(word) if replaced is None else replaced)
    return out


def _flag(word: str, tools: frozenset[str], mask: Mask, each: Callable[[Any], Any]) -> tuple[str, str | None]:
    """What a flag says of the next argument, and the flag itself rewritten when it holds a password."""
    if len(word) < 2 or word[0] != "-":
        return "", None
    name, equals, attached = word.partition("=")
    if name in USER_FLAGS and "docker" not in tools:
        return ("", f"{name}={_userinfo(attached, mask, each)}") if equals else ("userinfo", None)
    if equals:
        return "", None  # `--password=x`: the free-text rules
    if is_credential_name(word):
        return "whole", None
    short, glued = word[:2], word[2:]
    if short == "-p" and glued and "mysql" in tools:
        return "", short + mask_argument(glued, mask)
    if (short == "-p" and tools & SEPARATE_P) or (short == "-a" and "redis" in tools):
        return ("", short + mask_argument(glued, mask)) if glued else ("whole", None)
    return "", None


def _userinfo(word: str, mask: Mask, each: Callable[[Any], Any]) -> Any:
    user, colon, password = word.partition(":")
    if not colon or not password or _is_ids(user, password):
        return each(word)
    return f"{user}:{mask(password)}"
