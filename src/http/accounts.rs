use actix_web::{HttpResponse, web};

use super::{auth::CurrentAccount, entities};
use crate::app::AppState;

pub async fn verify_credentials(state: web::Data<AppState>, current: CurrentAccount) -> HttpResponse {
    HttpResponse::Ok().json(entities::account(&state, &current.0))
}
