"""`vidgate videos create|get|list|download|cancel|events`: the client side of `/v1/videos`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from service.client.api import ClientError, Json, VideosClient
from service.client.waiting import wait_for_video
from service.settings import ClientSettings, Settings

Handler = Callable[[VideosClient, argparse.Namespace], int]
ENV_HELP = "the gateway is $VIDGATE_URL (default http://127.0.0.1:8000), the key $VIDGATE_API_KEY"


def add_videos_command(commands: Any) -> None:
    """Register `vidgate videos …` on the top-level subparsers."""
    videos = commands.add_parser("videos", help="make and follow videos on a running gateway")
    verbs = videos.add_subparsers(title="videos", description=ENV_HELP)

    create = verbs.add_parser("create", help="submit a video; --wait follows it to the end")
    create.add_argument("--model", required=True, help="a model id (see GET /v1/models)")
    create.add_argument("--prompt", required=True)
    create.add_argument("--image", help="first frame: a local file or an http(s) URL")
    create.add_argument("--seconds", help="clip length, e.g. 4")
    create.add_argument("--size", help="WIDTHxHEIGHT, e.g. 1280x720")
    create.add_argument("--wait", action="store_true", help="show progress until it ends")
    create.add_argument("-o", "--output", help="write the finished MP4 here (implies --wait)")
    create.set_defaults(handler=_with_client(_create))

    get = verbs.add_parser("get", help="print one video as JSON")
    get.add_argument("video_id")
    get.set_defaults(handler=_with_client(_get))

    listing = verbs.add_parser("list", help="your recent videos, newest first")
    listing.add_argument("--limit", type=int, default=20, help="1-100 (default 20)")
    listing.add_argument("--status", help="only videos in this status")
    listing.add_argument("--model", help="only videos of this model")
    listing.add_argument("--json", action="store_true", help="print the API's JSON page")
    listing.set_defaults(handler=_with_client(_list))

    download = verbs.add_parser("download", help="save a finished video's MP4")
    download.add_argument("video_id")
    download.add_argument("-o", "--output", help="the file (default VIDEO_ID.mp4)")
    download.set_defaults(handler=_with_client(_download))

    cancel = verbs.add_parser("cancel", help="cancel a video that has not ended")
    cancel.add_argument("video_id")
    cancel.set_defaults(handler=_with_client(_cancel))

    events = verbs.add_parser("events", help="a video's audit history, one event a line")
    events.add_argument("video_id")
    events.add_argument("--json", action="store_true", help="print the API's JSON page")
    events.set_defaults(handler=_with_client(_events))


def _with_client(handler: Handler) -> Callable[[argparse.Namespace, Settings], int]:
    """Run `handler` with a client; any refusal prints the server's message, exit 1."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            client = VideosClient(ClientSettings.from_env())
            try:
                return handler(client, args)
            finally:
                client.close()
        except ClientError as error:
            print(f"vidgate: {error}", file=sys.stderr)
            return 1

    return run


def _create(client: VideosClient, args: argparse.Namespace) -> int:
    fields = {"model": args.model, "prompt": args.prompt}
    fields |= {k: getattr(args, k) for k in ("seconds", "size") if getattr(args, k)}
    video = client.create(fields, image=args.image)
    if not (args.wait or args.output):
        _print_json(video)
        return 0
    video = wait_for_video(client, video, Console(stderr=True))
    if video["status"] != "completed":
        error = video.get("error") or {}
        raise ClientError(f"{video['id']} {video['status']}: {error.get('message', '')}".strip())
    if args.output:
        size = client.download(video["id"], Path(args.output))
        print(f"vidgate: wrote {args.output} ({size} bytes)", file=sys.stderr)
    _print_json(video)
    return 0


def _get(client: VideosClient, args: argparse.Namespace) -> int:
    video, _ = client.get(args.video_id)
    _print_json(video)
    return 0


def _list(client: VideosClient, args: argparse.Namespace) -> int:
    params: dict[str, str | int] = {"limit": args.limit}
    params |= {k: getattr(args, k) for k in ("status", "model") if getattr(args, k)}
    page = client.list(**params)
    if args.json:
        _print_json(page)
        return 0
    for video in page["data"]:
        fields = (video["id"], video["status"], f"{video['progress']}%", video["model"])
        print("\t".join(fields))
    return 0


def _download(client: VideosClient, args: argparse.Namespace) -> int:
    target = Path(args.output or f"{args.video_id}.mp4")
    size = client.download(args.video_id, target)
    print(f"vidgate: wrote {target} ({size} bytes)", file=sys.stderr)
    return 0


def _cancel(client: VideosClient, args: argparse.Namespace) -> int:
    _print_json(client.cancel(args.video_id))
    return 0


def _events(client: VideosClient, args: argparse.Namespace) -> int:
    page = client.events(args.video_id)
    if args.json:
        _print_json(page)
        return 0
    for event in page["data"]:
        data = json.dumps(event["data"], separators=(",", ":"), default=str)
        print(f"{event['version']}\t{event['occurred_at']}\t{event['type']}\t{data}")
    return 0


def _print_json(body: Json) -> None:
    print(json.dumps(body, indent=2))
