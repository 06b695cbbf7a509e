pub mod campaign;
pub mod campaigns;
