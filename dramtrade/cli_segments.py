"""``dramtrade sms-segments``: count the SMS segments of the text on stdin.

Prints ``{"encoding": ..., "segments": ..., "characters": ...}`` as JSON. The body is taken
verbatim as UTF-8 bytes (CRLF is kept, and so is a trailing newline: use ``printf '%s'`` or
``echo -n`` to leave it out). ``--smart-encoding`` applies Twilio's Smart Encoding first.
"""

from __future__ import annotations

import argparse
import json
import sys

from dramtrade.sms_segments import count_segments


def main(argv: list[str] | None = None) -> None:
    """Run the command; ``argv`` defaults to ``sys.argv[1:]`` minus a leading ``sms-segments``.

    So ``dramtrade sms-segments [--smart-encoding]`` can call ``main()`` as is.
    """
    if argv is None:
        argv = sys.argv[1:]
        if argv[:1] == ["sms-segments"]:
            argv = argv[1:]
    parser = argparse.ArgumentParser(
        prog="dramtrade sms-segments",
        description="Count the SMS segments of the message body read from stdin.",
    )
    parser.add_argument(
        "--smart-encoding",
        action="store_true",
        help="replace curly quotes, dashes, odd spaces... as Twilio's Smart Encoding does",
    )
    args = parser.parse_args(argv)
    body = sys.stdin.buffer.read().decode("utf-8")
    info = count_segments(body, smart_encoding=args.smart_encoding)
    result = {"encoding": info.encoding, "segments": info.segments, "characters": info.characters}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
