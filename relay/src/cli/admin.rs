//! `idos admin ...`: the network owner's transactions, through a relay.

use clap::Subcommand;
use protocol::action::{AddDelegate, AddInserter};
use protocol::identity::Identity;
use uuid::Uuid;

use super::output::CliError;
use super::remote::{KeyArgs, RelayArgs, block_on, print_committed};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Register an issuer (an inserter), signed with the network owner's key.
    AddInserter {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The inserter's name.
        #[arg(long)]
        name: String,
        /// The inserter's id (default: a fresh UUIDv4).
        #[arg(long)]
        id: Option<Uuid>,
    },
    /// Allow a key (an EVM address or a hex Ed25519 key) to act for an inserter.
    AddDelegate {
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        key: KeyArgs,
        /// The inserter's id.
        #[arg(long)]
        inserter_id: Uuid,
        /// The delegate's wallet identifier.
        #[arg(long)]
        address: String,
    },
}

pub fn run(cmd: AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::AddInserter {
            relay,
            key,
            name,
            id,
        } => {
            let owner = key.signing_key()?;
            let id = id.unwrap_or_else(Uuid::new_v4);
            let client = relay.client()?;
            let status = block_on(async {
                Ok(client
                    .submit_action(&owner, AddInserter { id, name })
                    .await?)
            })?;
            print_committed(relay.json, &status, &[("inserter_id", id.to_string())])
        }
        AdminCommand::AddDelegate {
            relay,
            key,
            inserter_id,
            address,
        } => {
            let owner = key.signing_key()?;
            let address = Identity::parse(&address)?;
            let client = relay.client()?;
            let status = block_on(async {
                Ok(client
                    .submit_action(
                        &owner,
                        AddDelegate {
                            address,
                            inserter_id,
                        },
                    )
                    .await?)
            })?;
            print_committed(
                relay.json,
                &status,
                &[
                    ("inserter_id", inserter_id.to_string()),
                    ("delegate", address.identifier()),
                ],
            )
        }
    }
}
