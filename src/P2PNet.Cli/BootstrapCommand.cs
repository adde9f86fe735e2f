using System.CommandLine;
using P2PNet.Bootstrap;

namespace P2PNet.Cli;

/// <summary>
/// <c>p2pnet bootstrap</c>: runs the bootstrap server in-process (the same as
/// <c>dotnet run --project src/P2PNet.Bootstrap</c>). The common settings are options (<c>--urls</c>, <c>--db</c>,
/// <c>--mode</c>, <c>--key</c>, <c>--admin-password-hash</c>); any other setting is a configuration override
/// <c>--Section:Key VALUE</c> (or <c>--Section:Key=VALUE</c>), e.g. <c>--Bootstrap:PeerTtl 00:10:00</c>; anything
/// else is a usage error. <c>p2pnet bootstrap hash-password PASSWORD</c> prints a hash for <c>--admin-password-hash</c>.
/// </summary>
internal static class BootstrapCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { HelpName = "urls", Description = "URLs to listen on, ';'-separated (default http://0.0.0.0:5080)" };
        var db = new Option<string?>("--db") { HelpName = "file", Description = "SQLite database, created on first start (default bootstrap.db); the cookie keys go to FILE.keys/" };
        var mode = new Option<string?>("--mode") { HelpName = "trustless|authority", Description = "Trustless: peer lists only (default). Authority: signs every answer with --key" };
        var key = new Option<string?>("--key") { HelpName = "file", Description = "Authority key file, created 0600 when missing (default bootstrap.key)" };
        var passwordHash = new Option<string?>("--admin-password-hash")
        {
            HelpName = "hash",
            Description = "Admin sign-in password hash (from 'p2pnet bootstrap hash-password'); without it a one-time token is printed",
        };
        // Every other setting of appsettings.json: --Section:Key VALUE. Hidden: the description says it.
        var overrides = new Argument<string[]>("overrides") { Arity = ArgumentArity.ZeroOrMore, Hidden = true };
        var command = new Command("bootstrap",
            "Run a bootstrap server (peer registry, admin dashboard at /admin). Any other setting: --Section:Key VALUE, e.g. --Bootstrap:PeerTtl 00:10:00")
        {
            urls, db, mode, key, passwordHash, overrides,
        };
        command.SetAction(CliRun.Guard(async (parse, ct) =>
        {
            string? modeName = parse.GetValue(mode);
            if (modeName is not null && !modeName.Equals("trustless", StringComparison.OrdinalIgnoreCase) && !modeName.Equals("authority", StringComparison.OrdinalIgnoreCase))
                throw new CliException($"--mode: '{modeName}' is not trustless or authority; see 'p2pnet bootstrap --help'", CliExit.Usage);
            var args = new List<string>();
            Add(args, "urls", parse.GetValue(urls));
            Add(args, "Bootstrap:Database", parse.GetValue(db));
            Add(args, "Bootstrap:Mode", modeName is null ? null : char.ToUpperInvariant(modeName[0]) + modeName[1..].ToLowerInvariant());
            Add(args, "Bootstrap:IdentityKeyFile", parse.GetValue(key));
            Add(args, "Bootstrap:Admin:PasswordHash", parse.GetValue(passwordHash));
            args.AddRange(ConfigurationOverrides(parse.GetValue(overrides) ?? []));
            return await BootstrapServer.RunAsync([.. args], ct).ConfigureAwait(false);
        }));

        var password = new Argument<string>("password") { Description = "The admin password to hash" };
        var hash = new Command("hash-password", "Print the hash of PASSWORD for --admin-password-hash (Bootstrap:Admin:PasswordHash)") { password };
        hash.SetAction((parse, ct) => BootstrapServer.RunAsync(["hash-password", parse.GetValue(password)!], ct));
        command.Subcommands.Add(hash);
        return command;
    }

    private static void Add(List<string> args, string key, string? value)
    {
        if (value is not null) args.Add($"--{key}={value}");
    }

    /// <summary>The <c>--Section:Key VALUE</c> / <c>--Section:Key=VALUE</c> pairs; anything else is a usage error.</summary>
    private static List<string> ConfigurationOverrides(string[] tokens)
    {
        var result = new List<string>();
        for (int i = 0; i < tokens.Length; i++)
        {
            string token = tokens[i];
            bool isKey = token.StartsWith("--", StringComparison.Ordinal) && token.IndexOf(':', StringComparison.Ordinal) > 2;
            if (!isKey)
            {
                string what = token.StartsWith('-') ? $"unknown option '{token}'" : $"unexpected argument '{token}'";
                throw new CliException($"{what} (a setting is --Section:Key VALUE); see 'p2pnet bootstrap --help'", CliExit.Usage);
            }
            if (token.Contains('=', StringComparison.Ordinal))
            {
                result.Add(token);
            }
            else if (i + 1 < tokens.Length)
            {
                result.Add($"{token}={tokens[++i]}");
            }
            else
            {
                throw new CliException($"{token} needs a value; see 'p2pnet bootstrap --help'", CliExit.Usage);
            }
        }
        return result;
    }
}
