// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Security.Cryptography.X509Certificates;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Serilog;
using Serilog.Extensions.Logging;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>Hosts the gRPC service on Kestrel (HTTP/2 only: an HTTP/1.1+2 endpoint without TLS refuses gRPC calls).</summary>
internal sealed class GrpcEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcEndpoint(WebApplication app, IReadOnlyList<string> addresses)
    {
        _app = app;
        Addresses = addresses;
    }

    /// <summary>The bound addresses (with the actual ports when 0 was asked for).</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>Starts listening on every URI. Non-loopback addresses need TLS and a token.</summary>
    /// <exception cref="InvalidOperationException">A non-loopback address without TLS and token.</exception>
    public static async Task<GrpcEndpoint> StartAsync(IReadOnlyList<ListenUri> uris, RequestDispatcher dispatcher, NotificationHub hub, AgentSecurity security, ProtocolLimits limits)
    {
        foreach (ListenUri uri in uris)
        {
            if (!uri.IsLocal && (security.Token is null || security.CertificatePath is null || security.KeyPath is null))
            {
                throw new InvalidOperationException(
                    $"refusing to listen on {uri.Text}: beyond loopback the agent requires TLS (--tls-cert, --tls-key) and a token (--token or HYPERDBG_TOKEN).");
            }
        }

        foreach (ListenUri uri in uris.Where(u => u.Scheme == "grpc+unix"))
        {
            try
            {
                // Kestrel does not remove a stale socket file; anything else at the path is left alone.
                UnixSocketPath.PrepareForListening(uri.Path);
            }
            catch (IOException ex)
            {
                throw new InvalidOperationException($"cannot listen on {uri.Text}: {ex.Message}", ex);
            }
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        // The framework's own logs go to the agent's log (warnings and errors), not nowhere. AddSerilog adds a rule for
        // its provider, and a provider's rules take precedence over rules for every provider, so the levels are set on it.
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(Serilog.Log.Logger);
        builder.Logging.AddFilter<SerilogLoggerProvider>("Microsoft", Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.Logging.AddFilter<SerilogLoggerProvider>("Grpc", Microsoft.Extensions.Logging.LogLevel.Warning);
        // The host logs a failed start (an address in use) with its stack trace; the agent says it in one line instead.
        builder.Logging.AddFilter<SerilogLoggerProvider>("Microsoft.Extensions.Hosting.Internal.Host", Microsoft.Extensions.Logging.LogLevel.Critical);
        builder.Services.AddSingleton(dispatcher);
        builder.Services.AddSingleton(hub);
        builder.Services.AddSingleton(security);
        builder.Services.AddSingleton<TokenInterceptor>();
        builder.Services.AddSingleton<LastResortInterceptor>();
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<LastResortInterceptor>();
            o.Interceptors.Add<TokenInterceptor>();
            o.MaxReceiveMessageSize = limits.MaxMessageBytes;
            o.MaxSendMessageSize = limits.MaxMessageBytes;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks();
        X509Certificate2? certificate = security.CertificatePath is null ? null : X509Certificate2.CreateFromPemFile(security.CertificatePath, security.KeyPath);
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (ListenUri uri in uris)
            {
                void Configure(ListenOptions o)
                {
                    o.Protocols = HttpProtocols.Http2;
                    // Every TCP listener serves TLS when the agent has a certificate (loopback too: a host may insist on
                    // it); a Unix socket is the file system's to protect.
                    if (uri.Scheme == "grpc" && certificate is not null)
                    {
                        o.UseHttps(certificate);
                    }
                }

                if (uri.Scheme == "grpc+unix")
                {

                    k.ListenUnixSocket(uri.Path, Configure);
                }
                else if (uri.Host == "localhost")
                {
                    k.Listen(IPAddress.Loopback, uri.Port, Configure);
                }
                else
                {
                    k.Listen(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port, Configure);
                }
            }
        });
        WebApplication app = builder.Build();
        app.MapGrpcService<DebuggeeGrpcService>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            // Kestrel names the address it could not bind ("Failed to bind to address http://127.0.0.1:50051: address
            // already in use."); the agent ends with that, not with a stack trace.
            await app.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"cannot listen on {string.Join(", ", uris.Select(u => u.Text))}: {ex.Message}", ex);
        }

        var addresses = new List<string>();
        IServerAddressesFeature? feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        foreach (string a in feature?.Addresses ?? [])
        {
            addresses.Add(a.Replace("http://unix:", "grpc+unix:", StringComparison.Ordinal).Replace("https://", "grpcs://", StringComparison.Ordinal).Replace("http://", "grpc://", StringComparison.Ordinal));
        }

        return new GrpcEndpoint(app, addresses);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
