# Local user accounts of an emulated host and the host's "Log on as a service" policy, as what creates and deletes a
# local user (ADSI WinNT / New-LocalUser / net user) and what revokes a right (LsaRemoveAccountRights) leave them
# (docs/reference/windows-services.md "Local users and the logon right"). Used by the selftest's host script, which
# creates a scratch user, lets the engine grant it the right, and must leave the host as it found it.
#
# The policy holds rights by SID, not by account: a user deleted while it holds the right leaves its SID in the
# policy (an orphaned SID, shown as "*S-1-5-21-..." in User Rights Assignment), so the right must be revoked first.
# Accounts made by initLabHost (src/lab/host.ts) have no SID here and are listed by name; a user made by
# Add-LabLocalUser gets a local SID (S-1-5-21-<lab>-<RID>, RIDs from 1000 up and never reused, as Windows numbers
# local users).

$script:LabMachineSid = 'S-1-5-21-3000000000-3000000001-3000000002'

function Get-LabAccountKey {
    param($State, [string]$Account)
    if (-not $State.accounts) { return $null }
    foreach ($k in @($State.accounts.Keys)) { if ([string]::Equals($k, $Account, [StringComparison]::OrdinalIgnoreCase)) { return $k } }
    $null
}

# A new local user: no password policy is checked here, and the user does NOT hold "Log on as a service" (the default
# policy grants it to NT SERVICE\ALL SERVICES only). An existing name: NERR_UserExists (2224).
function Add-LabLocalUser {
    param([string]$Name, $Secret)   # $Secret: @{ password } (Get-LabPasswordSha256 says why not a string)
    Use-LabHost -Body { param($h)
        $account = '.\' + $Name
        if (Get-LabAccountKey -State $h -Account $account) { return @{ code = 2224; api = 'NetUserAdd' } }
        if (-not $h.accounts) { $h.accounts = @{} }
        # RIDs are never reused (the next one is kept with the host, like the SAM's counter).
        $rid = if ($h.nextLocalRid) { [int]$h.nextLocalRid } else { 1000 }
        $h.nextLocalRid = $rid + 1
        $h.accounts[$account] = @{ passwordSha256 = (Get-LabPasswordSha256 $Secret); serviceLogonRight = $false; sid = "$script:LabMachineSid-$rid" }
        Set-LabDirty
        @{ code = 0; api = $null; sid = "$script:LabMachineSid-$rid" }
    }
}

# Deleting a local user removes the account, not its entries in the rights policy: a user that still holds the right
# leaves its SID there (NERR_UserNotFound, 2221, for an unknown name).
function Remove-LabLocalUser {
    param([string]$Name)
    Use-LabHost -Body { param($h)
        $key = Get-LabAccountKey -State $h -Account ('.\' + $Name)
        if (-not $key) { return @{ code = 2221; api = 'NetUserDel' } }
        $acct = $h.accounts[$key]
        if ((Test-LabServiceLogonRight $acct)) {
            $orphan = if ($acct.sid) { [string]$acct.sid } else { [string]$key }
            $h.logonRightOrphans = @(@($h.logonRightOrphans | Where-Object { $_ }) + $orphan)
        }
        $h.accounts.Remove($key)
        Set-LabDirty
        @{ code = 0; api = $null }
    }
}

# LsaRemoveAccountRights(SeServiceLogonRight): an unknown name fails at LookupAccountName (1332); a right the account
# does not hold is ignored (the function's documentation).
function Invoke-LabRevokeLogonRight {
    param([string]$Account)
    Use-LabHost -Body { param($h)
        $key = Get-LabAccountKey -State $h -Account $Account
        if (-not $key) { return @{ code = 1332; api = 'LookupAccountName' } }
        $h.accounts[$key].serviceLogonRight = $false
        Set-LabDirty
        @{ code = 0; api = $null }
    }
}

# What the host script's census reads: the local users, and who holds "Log on as a service"
# (LsaEnumerateAccountsWithUserRight: by SID, orphaned SIDs included; accounts without a SID here by name).
function Get-LabAccountCensus {
    Use-LabHost -Body { param($h)
        $users = @(); $holders = @()
        foreach ($k in @($(if ($h.accounts) { $h.accounts.Keys }))) {
            $users += [string]$k
            $a = $h.accounts[$k]
            if (Test-LabServiceLogonRight $a) { $holders += $(if ($a.sid) { [string]$a.sid } else { [string]$k }) }
        }
        $holders += @($h.logonRightOrphans | Where-Object { $_ } | ForEach-Object { [string]$_ })
        @{ users = @($users | Sort-Object); logonRight = @($holders | Sort-Object) }
    }
}

# Whether one account holds the right (the same reading, for one account). Unknown: 1332.
function Get-LabAccountRight {
    param([string]$Account)
    Use-LabHost -Body { param($h)
        $key = Get-LabAccountKey -State $h -Account $Account
        if (-not $key) { return @{ code = 1332; exists = $false; granted = $false } }
        @{ code = 0; exists = $true; granted = [bool](Test-LabServiceLogonRight $h.accounts[$key]) }
    }
}
