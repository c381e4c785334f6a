"""``audiogen corpus build``: the offline real-music corpus (``audiogen_hf.data.corpus.build_corpus``)."""

from .common import UserError, hf_parser


def main(argv, prog="audiogen corpus") -> int:
    from ..data.corpus import CorpusArguments, build_corpus

    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {prog} build [--output_dir DIR] [--size small|full] ...  ({prog} build --help)")
        return 0
    if argv[0] != "build":
        raise UserError(f"unknown corpus action {argv[0]!r}; use: {prog} build")
    (args,) = hf_parser(f"{prog} build", CorpusArguments, "Build the offline corpus from Debian packages."
                        ).parse_args_into_dataclasses(args=argv[1:])
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_corpus(args)
    print(f"corpus ready in {args.output_dir}")
    return 0
