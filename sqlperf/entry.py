"""The ``sqlperf`` command: a fully warm ``sqlperf check`` is answered before click is imported.

Importing click costs a warm run a fifth of its time. Only a command line made of ``check``,
paths and a few options whose meaning is simple is tried here, through the functions the click
command itself calls (sqlperf.quick), and only when its output is plain (no colour). Anything
else, and any doubt (an unknown token, a repeated option, a value click might read otherwise,
a configuration error, a cache miss, any exception), goes to the click CLI (sqlperf.cli), which
then does everything as always: nothing has been printed by then.
"""

from __future__ import annotations

import re
import sys

# Options taking a value: option -> keyword. Repeatable ones collect a list.
_VALUED = {
    "--select": "select", "--extend-select": "extend_select", "--ignore": "ignore", "--format": "fmt",
    "--dialect": "dialect", "--cache-dir": "cache_dir", "--config": "config_file", "--jobs": "jobs", "-j": "jobs",
}
_REPEATABLE = ("select", "extend_select", "ignore")
# Flags: option -> (keyword, value).
_FLAGS = {
    "--exit-zero": ("exit_zero", True), "--verbose": ("verbose", True), "-v": ("verbose", True),
    "--color": ("color", True), "--no-color": ("color", False),
}
_JOBS = re.compile(r"[1-9][0-9]{0,5}")


def parse(args: list[str]) -> dict | None:
    """The options of ``check`` when every token is one this module understands for sure, else None."""
    if not args or args[0] != "check":
        return None
    options: dict = {"paths": [], **{name: [] for name in _REPEATABLE}}
    index = 1
    while index < len(args):
        token = args[index]
        index += 1
        if not token.startswith("-"):
            if not token:
                return None
            options["paths"].append(token)
            continue
        # Only long options take "=value"; click reads "-j=4" as the value "=4".
        name, equals, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if name in _FLAGS and not equals:
            keyword, value = _FLAGS[name]
        elif name in _VALUED:
            keyword = _VALUED[name]
            if not equals:
                if index >= len(args):
                    return None
                value = args[index]
                index += 1
            if not value or value.startswith("-"):
                return None
        else:
            return None
        if keyword in _REPEATABLE:
            options[keyword].append(value)
        elif keyword in options:
            return None  # click keeps the last of a repeated option: leave such lines to it
        else:
            options[keyword] = value
    if "fmt" in options:
        from sqlperf.output import FORMATS  # a tuple in a module that imports nothing heavy

        if options["fmt"] not in FORMATS:
            return None
    if "jobs" in options and not _JOBS.fullmatch(options["jobs"]):
        return None
    if "cache_dir" in options:
        import os

        # click's Path(file_okay=False) refuses an existing file or anything it cannot stat.
        try:
            if not os.path.isdir(options["cache_dir"]) and os.path.lexists(options["cache_dir"]):
                return None
        except (OSError, ValueError):
            return None
    return options


def _warm(args: list[str]) -> tuple[str, int] | None:
    """The output and exit code of a fully cached check, or None for the click CLI."""
    options = parse(args)
    if options is None:
        return None
    from pathlib import Path

    from sqlperf import quick

    fmt, verbose = options.get("fmt", "text"), options.get("verbose", False)
    # Coloured text is rendered for the terminal itself: left to the click command.
    if not quick.plain_output(fmt, None, options.get("color")):
        return None
    config = options.get("config_file")
    settings = quick.build_settings(
        options["paths"], config_file=Path(config) if config else None, dialect=options.get("dialect"),
        select=tuple(options["select"]), extend_select=tuple(options["extend_select"]), ignore=tuple(options["ignore"]),
        cache_dir=options.get("cache_dir"),
    )
    _, fast = quick.cached_answer(options["paths"] or ["."], settings, fmt=fmt, verbose=verbose, plain=True)
    if fast is None:
        return None
    import io

    # Written whole once it is complete, so that a failure before then has printed nothing.
    buffer = io.StringIO()
    code = quick.write_answer(fast, fmt, buffer, color=options.get("color"), verbose=verbose, plain=True,
                              exit_zero=options.get("exit_zero", False))
    return buffer.getvalue(), code


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the warm answer when there is one, else the click CLI."""
    try:
        answer = _warm(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        sys.stderr.write("sqlperf: interrupted\n")
        sys.exit(130)
    except Exception:  # noqa: BLE001 - any doubt: the click CLI answers, and reports what is wrong
        answer = None
    if answer is None:
        from sqlperf.cli import main as click_main

        return click_main(argv)
    text, code = answer
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        # As the click CLI: a reader that went away is no error; nothing more is written.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    sys.exit(code)


if __name__ == "__main__":
    main()
