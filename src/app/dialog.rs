//! The native Open dialog, without a GUI toolkit dependency: the desktop's own dialog program
//! (zenity or kdialog on Linux, osascript on macOS, PowerShell on Windows) runs on a thread, and the
//! viewer picks the answer up on a later frame.

use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// A dialog that may still be open.
pub struct OpenDialog {
    answer: Receiver<Result<Option<PathBuf>, String>>,
}

/// The commands to try, in order, on this platform.
fn candidates() -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if cfg!(target_os = "macos") {
        vec![s(&[
            "osascript",
            "-e",
            "POSIX path of (choose file with prompt \"Open an image\")",
        ])]
    } else if cfg!(windows) {
        vec![s(&[
            "powershell",
            "-NoProfile",
            "-Command",
            "Add-Type -AssemblyName System.Windows.Forms; $d = New-Object System.Windows.Forms.OpenFileDialog; $d.Filter = 'Images|*.png;*.jpg;*.jpeg;*.webp;*.bmp;*.tif;*.tiff;*.gif'; if ($d.ShowDialog() -eq 'OK') { $d.FileName }",
        ])]
    } else {
        vec![
            s(&[
                "zenity",
                "--file-selection",
                "--title=Open an image",
                "--file-filter=Images | *.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif",
            ]),
            s(&[
                "kdialog",
                "--getopenfilename",
                ".",
                "image/png image/jpeg image/webp image/bmp image/tiff image/gif",
            ]),
        ]
    }
}

impl OpenDialog {
    /// Opens the dialog on a thread.
    pub fn spawn() -> Self {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut last_error =
                String::from("no file dialog program found (install zenity or kdialog)");
            for cmd in candidates() {
                match Command::new(&cmd[0]).args(&cmd[1..]).output() {
                    Ok(out) => {
                        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                        // A cancelled dialog exits non-zero with no output: not an error.
                        let _ = tx.send(Ok((!path.is_empty()).then(|| PathBuf::from(path))));
                        return;
                    }
                    Err(e) => last_error = format!("{}: {e}", cmd[0]),
                }
            }
            let _ = tx.send(Err(last_error));
        });
        Self { answer: rx }
    }

    /// The answer if the dialog has closed: a path, `None` when cancelled, or why no dialog opened.
    pub fn poll(&self) -> Option<Result<Option<PathBuf>, String>> {
        match self.answer.try_recv() {
            Ok(answer) => Some(answer),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err("the file dialog ended unexpectedly".into()))
            }
        }
    }
}
