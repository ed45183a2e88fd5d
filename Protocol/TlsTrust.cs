// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// Trust in an agent's TLS certificate beyond the system's store: the CA certificates of one PEM file (<c>--tls-ca</c>),
/// for agents with a self-signed certificate or one of a private CA. A certificate the system trusts is accepted as
/// before; one that chains to a CA of the file (and names the host connected to) is accepted too; nothing else is.
/// </summary>
public sealed class TlsTrust
{
    private readonly X509Certificate2Collection _authorities;

    private TlsTrust(string path, X509Certificate2Collection authorities)
    {
        Path = path;
        _authorities = authorities;
    }

    /// <summary>The PEM file the authorities came from.</summary>
    public string Path { get; }

    /// <summary>Reads the CA certificates of a PEM file.</summary>
    /// <exception cref="ConnectionException">The file is missing, unreadable, or holds no certificate.</exception>
    public static TlsTrust FromPemFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ConnectionException($"--tls-ca: the file '{path}' does not exist.");
        }

        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConnectionException($"--tls-ca: '{path}' is not a PEM file of certificates: {ex.Message}", ex);
        }

        if (authorities.Count == 0)
        {
            throw new ConnectionException($"--tls-ca: '{path}' holds no certificate (expected \"-----BEGIN CERTIFICATE-----\" blocks).");
        }

        return new TlsTrust(path, authorities);
    }

    /// <summary>The validation callback: the system's verdict, else a chain to one of the file's authorities. A name
    /// mismatch or a missing certificate is never forgiven.</summary>
    public bool Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (X509ChainElement element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using X509Certificate2 leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }

    /// <summary>Makes <paramref name="handler"/> validate with <see cref="Validate"/>.</summary>
    public void Apply(SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Validate(certificate, chain, errors);
    }
}
