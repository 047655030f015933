use std::{fmt, str::FromStr};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::{CatalogError, Placement};
use crate::TenantId;

/// The lifecycle state of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Serving requests.
    Active,
    /// Refused with 403 `tenant_suspended`.
    Suspended,
    /// Being set up; refused with 423 `tenant_locked`.
    Provisioning,
    /// Setting it up failed, and what had been made was dropped; refused with 423
    /// `tenant_locked`. The error is in its settings under `tenantry.provisioning_error`.
    ProvisioningFailed,
    /// Being moved between placements; reads served, writes refused with 423 `tenant_locked`.
    Moving,
    /// Deleted; answered like an unknown tenant (403 `tenant_forbidden`).
    Deleted,
}

impl TenantStatus {
    /// The stored text: `active`, `suspended`, `provisioning`, `provisioning_failed`, `moving`,
    /// `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Provisioning => "provisioning",
            Self::ProvisioningFailed => "provisioning_failed",
            Self::Moving => "moving",
            Self::Deleted => "deleted",
        }
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TenantStatus {
    type Err = CatalogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            "provisioning" => Self::Provisioning,
            "provisioning_failed" => Self::ProvisioningFailed,
            "moving" => Self::Moving,
            "deleted" => Self::Deleted,
            other => return Err(CatalogError::Corrupt(format!("unknown status {other:?}"))),
        })
    }
}

/// One tenant, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TenantRecord {
    /// The id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Lifecycle state.
    pub status: TenantStatus,
    /// Plan name (`free`, `pro`, ...), read by rate limits and quotas.
    pub plan: String,
    /// Where its rows live.
    pub placement: Placement,
    /// Free-form settings (a JSON object).
    pub settings: serde_json::Value,
    /// When the record was created (UTC, whole microseconds).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (UTC, whole microseconds).
    pub updated_at: DateTime<Utc>,
}

impl TenantRecord {
    /// An active tenant on plan `free`, placed in shared rows, with empty settings, created now.
    pub fn new(id: TenantId, name: impl Into<String>) -> Self {
        let now = Utc::now().trunc_subsecs(6);
        Self {
            id,
            name: name.into(),
            status: TenantStatus::Active,
            plan: "free".to_owned(),
            placement: Placement::row(),
            settings: serde_json::Value::Object(Default::default()),
            created_at: now,
            updated_at: now,
        }
    }

    /// Sets the status.
    pub fn with_status(mut self, status: TenantStatus) -> Self {
        self.status = status;
        self
    }

    /// Sets the plan.
    pub fn with_plan(mut self, plan: impl Into<String>) -> Self {
        self.plan = plan.into();
        self
    }

    /// Sets the placement.
    pub fn with_placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Sets the settings.
    pub fn with_settings(mut self, settings: serde_json::Value) -> Self {
        self.settings = settings;
        self
    }

    /// Marks the record changed now.
    pub fn touch(&mut self) {
        self.updated_at = Utc::now().trunc_subsecs(6);
    }
}
