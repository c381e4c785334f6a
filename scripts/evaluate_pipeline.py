"""Evaluate a trained Jam Assistant pipeline on MUSDB clips: next-frame metrics, audio metrics through the shipped
`evaluate` modules, and target/prediction audio. The same as `audiogen evaluate` (audiogen_hf/cli/evaluate.py).

    python scripts/evaluate_pipeline.py --model outputs/mel_lstm_musdb/pipeline --musdb_root data/corpus/musdb \
        --save_audio --audio_samples 2 --output_dir outputs/evaluation
"""

from audiogen_hf.cli.evaluate import main

if __name__ == "__main__":
    main()
