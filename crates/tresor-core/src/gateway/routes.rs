//! Routes: `CreateRoute`, `UpdateRoute`, `GetRoute`, `ListRoutes`, `DeleteRoute`.
//!
//! A route sends its secret's value to the upstream it names, so pointing a route at a secret
//! needs, besides `gateway:CreateRoute`/`gateway:UpdateRoute` on the route, the right to read
//! that secret (`secretsmanager:GetSecretValue`): otherwise a route administrator could send
//! any secret of the account to a server of their choosing.

use tresor_store::{GatewayStore, RouteRecord, StoreError};

use super::dto::*;
use super::{route_arn, Operation};
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

pub(crate) fn route_not_found(name: &str) -> CoreError {
    CoreError::ResourceNotFound(format!("Gateway route {name} does not exist."))
}

pub(crate) fn shown(r: &RouteRecord) -> Route {
    Route {
        name: r.name.clone(),
        arn: r.arn.clone(),
        provider: r.provider.clone(),
        secret_id: r.secret_id.clone(),
        base_url: r.base_url.clone(),
        allow_http: r.allow_http,
        has_ca_certificate: r.ca_pem.is_some(),
        description: r.description.clone(),
        created_date: r.created,
        last_changed_date: r.updated,
    }
}

/// The provider's public endpoint, for a route that names none.
fn default_base_url(provider: &str) -> &'static str {
    match provider {
        "anthropic" => "https://api.anthropic.com",
        _ => "https://api.openai.com/v1",
    }
}

/// Plain HTTP only to a loopback host, unless the route allows it explicitly: a provider key
/// sent in clear over a network is a key given away.
fn check_transport(base_url: &str, allow_http: bool) -> Result<(), CoreError> {
    let Some(host) = crate::net::plain_http_host(base_url) else {
        return Ok(());
    };
    let loopback = crate::net::is_loopback_host(host);
    if loopback || allow_http {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter(format!(
            "BaseUrl uses plain HTTP to {host}, which is not a loopback address: the provider key would cross the network in clear. Use https://, or set AllowHttp to accept that."
        )))
    }
}

fn check_ca(pem: Option<&str>) -> Result<(), CoreError> {
    match pem {
        Some(pem) if !pem.contains("-----BEGIN CERTIFICATE-----") => {
            Err(CoreError::InvalidParameter(
                "CaCertificatePem must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)."
                    .to_owned(),
            ))
        }
        _ => Ok(()),
    }
}

impl Core {
    fn authorize_route(
        &self,
        ctx: &RequestContext,
        op: Operation,
        name: Option<&str>,
    ) -> Result<(), CoreError> {
        let action = format!("gateway:{}", op.name());
        match name {
            Some(name) => {
                let arn = route_arn(ctx.region.as_str(), ctx.principal.account.as_str(), name);
                let resource = Resource {
                    arn: &arn,
                    account: Some(&ctx.principal.account),
                    policy: None,
                    keys: vec![("gateway:Route".to_owned(), vec![name.to_owned()])],
                    shown_as: None,
                };
                self.authorize(ctx, &action, resource)
            }
            None => self.authorize(ctx, &action, Resource::any()),
        }
    }

    pub fn gateway_create_route(
        &self,
        ctx: &RequestContext,
        req: Validated<CreateRouteRequest>,
    ) -> Result<RouteResponse, CoreError> {
        let req = req.into_inner();
        let name = req.name.unwrap_or_default();
        self.authorize_route(ctx, Operation::CreateRoute, Some(&name))?;
        let provider = req.provider.unwrap_or_default();
        let base_url = req
            .base_url
            .unwrap_or_else(|| default_base_url(&provider).to_owned());
        let allow_http = req.allow_http.unwrap_or(false);
        check_transport(&base_url, allow_http)?;
        check_ca(req.ca_certificate_pem.as_deref())?;
        let secret_id = req.secret_id.unwrap_or_default();
        self.authorize_secret_read(ctx, &secret_id)?;
        let record = RouteRecord {
            account: ctx.principal.account.clone(),
            region: ctx.region.as_str().to_owned(),
            arn: route_arn(ctx.region.as_str(), ctx.principal.account.as_str(), &name),
            name: name.clone(),
            provider,
            secret_id,
            base_url: base_url.trim_end_matches('/').to_owned(),
            allow_http,
            ca_pem: req.ca_certificate_pem,
            description: req.description,
            created: ctx.now,
            updated: ctx.now,
        };
        match self.store.create_route(&record) {
            Err(StoreError::Conflict) => Err(CoreError::ResourceExists(format!(
                "Gateway route {name} already exists."
            ))),
            other => other.map_err(CoreError::from),
        }?;
        Ok(RouteResponse {
            route: shown(&record),
        })
    }

    pub fn gateway_update_route(
        &self,
        ctx: &RequestContext,
        req: Validated<UpdateRouteRequest>,
    ) -> Result<RouteResponse, CoreError> {
        let req = req.into_inner();
        let name = req.name.unwrap_or_default();
        self.authorize_route(ctx, Operation::UpdateRoute, Some(&name))?;
        let mut record = self
            .store
            .get_route(&ctx.principal.account, &name)?
            .ok_or_else(|| route_not_found(&name))?;
        if let Some(secret_id) = req.secret_id {
            self.authorize_secret_read(ctx, &secret_id)?;
            record.secret_id = secret_id;
        }
        if let Some(url) = req.base_url {
            record.base_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(allow) = req.allow_http {
            record.allow_http = allow;
        }
        check_transport(&record.base_url, record.allow_http)?;
        if let Some(pem) = req.ca_certificate_pem {
            // An empty bundle removes the extra CA.
            record.ca_pem = (!pem.is_empty()).then_some(pem);
            check_ca(record.ca_pem.as_deref())?;
        }
        if let Some(d) = req.description {
            record.description = (!d.is_empty()).then_some(d);
        }
        record.updated = ctx.now;
        self.store.update_route(&record)?;
        Ok(RouteResponse {
            route: shown(&record),
        })
    }

    pub fn gateway_get_route(
        &self,
        ctx: &RequestContext,
        req: Validated<RouteNameRequest>,
    ) -> Result<RouteResponse, CoreError> {
        let name = req.name.as_deref().unwrap_or_default();
        self.authorize_route(ctx, Operation::GetRoute, Some(name))?;
        let record = self
            .store
            .get_route(&ctx.principal.account, name)?
            .ok_or_else(|| route_not_found(name))?;
        Ok(RouteResponse {
            route: shown(&record),
        })
    }

    pub fn gateway_list_routes(
        &self,
        ctx: &RequestContext,
        _req: Validated<EmptyRequest>,
    ) -> Result<ListRoutesResponse, CoreError> {
        self.authorize_route(ctx, Operation::ListRoutes, None)?;
        let routes = self.store.list_routes(&ctx.principal.account)?;
        Ok(ListRoutesResponse {
            routes: routes.iter().map(shown).collect(),
        })
    }

    pub fn gateway_delete_route(
        &self,
        ctx: &RequestContext,
        req: Validated<RouteNameRequest>,
    ) -> Result<EmptyResponse, CoreError> {
        let name = req.name.as_deref().unwrap_or_default();
        self.authorize_route(ctx, Operation::DeleteRoute, Some(name))?;
        match self.store.delete_route(&ctx.principal.account, name) {
            Err(StoreError::NotFound(_)) => Err(route_not_found(name)),
            other => other.map_err(CoreError::from),
        }?;
        Ok(EmptyResponse {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        assert!(check_transport("https://api.openai.com/v1", false).is_ok());
        assert!(check_transport("http://127.0.0.1:8000/v1", false).is_ok());
        assert!(check_transport("http://localhost:8000", false).is_ok());
        assert!(check_transport("http://[::1]:8000/v1", false).is_ok());
        assert!(check_transport("http://10.0.0.5:8000/v1", false).is_err());
        assert!(check_transport("http://127.0.0.1.evil.example/v1", false).is_err());
        assert!(check_transport("http://10.0.0.5:8000/v1", true).is_ok());
    }
}
