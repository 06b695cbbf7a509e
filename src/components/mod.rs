pub mod header;
pub mod job_panel;
pub mod progress_bar;
pub mod results_table;
pub mod search_form;
