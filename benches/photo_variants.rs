//! One run of Kaleido's photo pipeline on a file, writing the display, preview and thumbnail
//! JPEGs to a folder: what `benches/photos.sh` times against vipsthumbnail and ImageMagick.
//! Usage: photo_variants INPUT OUTPUT_DIR

use std::process::ExitCode;

use kaleido::media::photo::{self, Sizes};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: photo_variants INPUT OUTPUT_DIR");
        return ExitCode::from(2);
    };
    let data = match std::fs::read(input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match photo::process(&data, Sizes::default(), 200_000_000) {
        Ok(processed) => {
            for variant in processed.variants {
                let path = format!("{output}/{}.{}", variant.name, variant.extension);
                if let Err(e) = std::fs::write(&path, &variant.bytes) {
                    eprintln!("{path}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{input}: {e}");
            ExitCode::FAILURE
        }
    }
}
