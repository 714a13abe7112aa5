//! `piimask certs dev`: a throw-away PKI to try `piimask run` with curl.

use std::path::PathBuf;

use crate::devpki;

#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Write a dev CA, a server certificate and two client identities.
    Dev {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: &CertsCommand) -> anyhow::Result<()> {
    match command {
        CertsCommand::Dev { out } => {
            let _ca = devpki::write_dev_pki(out)?;
            let d = out.display();
            println!("wrote {d}/ca.crt, server.{{crt,key}}, client.{{crt,key}}, other-client.{{crt,key}}");
            println!("  server:        {} (and localhost, 127.0.0.1)", devpki::SERVER_ID);
            println!("  client:        {}", devpki::ALLOWED_CLIENT_ID);
            println!("  other-client:  {}", devpki::OTHER_CLIENT_ID);
            println!("try:");
            println!(
                "  piimask run --listen 127.0.0.1:8443 --upstream http://127.0.0.1:8080 --cert {d}/server.crt \\\n    --key {d}/server.key --client-ca {d}/ca.crt --allow-peer {}",
                devpki::ALLOWED_CLIENT_ID
            );
            println!("  curl --cacert {d}/ca.crt --cert {d}/client.crt --key {d}/client.key https://localhost:8443/");
            Ok(())
        }
    }
}
